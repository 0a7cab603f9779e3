// libFuzzer's entry for programs that bring their own main (LLVM's libFuzzer documentation).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

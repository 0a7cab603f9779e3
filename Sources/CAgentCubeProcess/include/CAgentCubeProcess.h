#ifndef C_AGENTCUBE_PROCESS_H_
#define C_AGENTCUBE_PROCESS_H_

// glibc's GNU extensions to posix_spawn, which Swift's Glibc module does not import
// (it is built without _GNU_SOURCE). Implemented in process.c, compiled with _GNU_SOURCE.

#include <spawn.h>

/// POSIX_SPAWN_SETSID: the child starts a new session (and process group).
int CAgentCubeProcess_spawnFlagSetSID(void);

/// posix_spawn_file_actions_addclosefrom_np: close every descriptor >= `from` in the child.
int CAgentCubeProcess_addCloseFrom(posix_spawn_file_actions_t *actions, int from);

/// posix_spawn_file_actions_addchdir_np: change directory in the child before exec.
int CAgentCubeProcess_addChdir(posix_spawn_file_actions_t *actions, const char *path);

/// mallopt(M_MMAP_THRESHOLD, bytes): allocations of at least `bytes` are served by mmap, so freeing
/// them returns memory to the system at once. 1 on success.
int CAgentCubeProcess_setMmapThreshold(int bytes);

#endif

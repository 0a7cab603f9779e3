#define _GNU_SOURCE
#include <spawn.h>

#include "CAgentCubeProcess.h"

int CAgentCubeProcess_spawnFlagSetSID(void) { return POSIX_SPAWN_SETSID; }

int CAgentCubeProcess_addCloseFrom(posix_spawn_file_actions_t *actions, int from) {
  return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int CAgentCubeProcess_addChdir(posix_spawn_file_actions_t *actions, const char *path) {
  return posix_spawn_file_actions_addchdir_np(actions, path);
}

#include <malloc.h>

int CAgentCubeProcess_setMmapThreshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }

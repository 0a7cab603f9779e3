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

#include <stdint.h>

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants (a detached container's init) become
/// children of this process instead of pid 1, so it can collect them. 0 on success, else errno.
int CAgentCubeProcess_becomeChildSubreaper(void);

/// Attaches the file open at `image_fd` to a free loop device (LOOP_CONFIGURE with autoclear:
/// the device is released when its last mount goes) and mounts it at `target` as `fstype` with
/// nosuid and nodev, holding the machine-wide loop lock (an flock on /dev/loop-control) for at
/// most `lock_timeout_ms` of waiting. 0 on success, else an errno value (ETIMEDOUT: the lock was
/// not free in time); `device` (>= 32 bytes) gets the device path.
int CAgentCubeProcess_mountLoopImage(int image_fd, const char *target, const char *fstype, char *device,
                                     int device_size, int lock_timeout_ms);

/// Creates a TCP socket in the network namespace open at `netns_fd` (setns on the calling
/// thread, which must be a thread of its own that ends afterwards), and connects it to
/// 127.0.0.1:`port` within `timeout_ms`. The connected, non-blocking, close-on-exec descriptor,
/// or -errno.
int CAgentCubeProcess_connectInNetworkNamespace(int netns_fd, uint16_t port, int timeout_ms);

/// Like CAgentCubeProcess_connectInNetworkNamespace, for a server without root: a forked child
/// (single-threaded, as setns into a user namespace requires) joins the user namespace open at
/// `userns_fd`, then the network namespace, connects, and passes the descriptor back over a socket
/// pair. The connected descriptor, or -errno.
int CAgentCubeProcess_connectInNamespacesByFork(int userns_fd, int netns_fd, uint16_t port, int timeout_ms);

#endif

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

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

int CAgentCubeProcess_becomeChildSubreaper(void) {
  return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : errno;
}

/// Takes an exclusive flock on `fd`, waiting at most `timeout_ms`. 0, or an errno value.
static int lock_within(int fd, int timeout_ms) {
  for (int waited = 0;; waited++) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 0;
    if (errno != EWOULDBLOCK && errno != EINTR) return errno;
    if (waited >= timeout_ms) return ETIMEDOUT;
    usleep(1000);
  }
}

/// One loop setup and mount at a time on this machine, among every process that mounts this way
/// (each agentcubed, each test's backend): the lock is an flock on /dev/loop-control, taken on an
/// open of its own (so threads of one process exclude each other too). Without it, two setups
/// that got the same free device from LOOP_CTL_GET_FREE race: the loser's LOOP_CONFIGURE fails,
/// but while it still holds the device open for writing the kernel refuses the winner's mount with
/// EBUSY. Programs that do not take the lock can still race; EBUSY is tried again for them.
int CAgentCubeProcess_mountLoopImage(int image_fd, const char *target, const char *fstype, char *device,
                                     int device_size, int lock_timeout_ms) {
  int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (control < 0) return errno;
  int result = lock_within(control, lock_timeout_ms);
  if (result != 0) {
    close(control);
    return result;
  }
  // Another program may take the free device between GET_FREE and CONFIGURE, or hold it open while
  // this one mounts it (EBUSY): try again with a fresh device, a little later each time (bounded).
  for (int attempt = 0; attempt < 16; attempt++) {
    if (attempt > 0 && result == EBUSY) usleep((useconds_t)(attempt * 2000));
    int number = ioctl(control, LOOP_CTL_GET_FREE);
    if (number < 0) { result = errno; break; }
    snprintf(device, (size_t)device_size, "/dev/loop%d", number);
    int loop = open(device, O_RDWR | O_CLOEXEC);
    if (loop < 0) { result = errno; break; }
    struct loop_config config;
    memset(&config, 0, sizeof config);
    config.fd = (unsigned)image_fd;
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (ioctl(loop, LOOP_CONFIGURE, &config) != 0) {
      result = errno;
      close(loop);
      if (result == EBUSY) continue;
      break;
    }
    result = 0;
    if (mount(device, target, fstype, MS_NOSUID | MS_NODEV | MS_NOATIME, "") != 0) {
      result = errno;
      ioctl(loop, LOOP_CLR_FD, 0);
      close(loop);
      if (result == EBUSY) continue;
      break;
    }
    // With autoclear, the mount now holds the device; closing ours lets it go with the mount.
    close(loop);
    break;
  }
  close(control);  // releases the lock
  return result;
}

static int connect_loopback(uint16_t port, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  struct sockaddr_in address;
  memset(&address, 0, sizeof address);
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
    if (errno != EINPROGRESS) {
      int error = errno;
      close(fd);
      return -error;
    }
    struct pollfd entry = {.fd = fd, .events = POLLOUT};
    int ready;
    do {
      ready = poll(&entry, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    int error = ready == 0 ? ETIMEDOUT : ready < 0 ? errno : 0;
    socklen_t length = sizeof error;
    if (ready > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error != 0) {
      close(fd);
      return -error;
    }
  }
  return fd;
}

int CAgentCubeProcess_connectInNetworkNamespace(int netns_fd, uint16_t port, int timeout_ms) {
  if (setns(netns_fd, CLONE_NEWNET) != 0) return -errno;
  return connect_loopback(port, timeout_ms);
}

#include <signal.h>
#include <sys/wait.h>

int CAgentCubeProcess_connectInNamespacesByFork(int userns_fd, int netns_fd, uint16_t port, int timeout_ms) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) != 0) return -errno;
  pid_t child = fork();
  if (child < 0) {
    int error = errno;
    close(pair[0]);
    close(pair[1]);
    return -error;
  }
  if (child == 0) {
    // Only async-signal-safe calls from here on: the parent has other threads.
    int result = 0;
    if (setns(userns_fd, CLONE_NEWUSER) != 0 || setns(netns_fd, CLONE_NEWNET) != 0) {
      result = -errno;
    } else {
      result = connect_loopback(port, timeout_ms);
    }
    int code = result < 0 ? -result : 0;
    struct iovec data = {.iov_base = &code, .iov_len = sizeof code};
    union {
      char buffer[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1};
    if (result >= 0) {
      message.msg_control = control.buffer;
      message.msg_controllen = sizeof control.buffer;
      struct cmsghdr *header = CMSG_FIRSTHDR(&message);
      header->cmsg_level = SOL_SOCKET;
      header->cmsg_type = SCM_RIGHTS;
      header->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(header), &result, sizeof(int));
    }
    sendmsg(pair[1], &message, MSG_NOSIGNAL);
    _exit(0);
  }
  close(pair[1]);
  int result = -ETIMEDOUT;
  struct pollfd entry = {.fd = pair[0], .events = POLLIN};
  int ready;
  do {
    ready = poll(&entry, 1, timeout_ms + 1000);
  } while (ready < 0 && errno == EINTR);
  if (ready > 0) {
    int code = 0;
    struct iovec data = {.iov_base = &code, .iov_len = sizeof code};
    union {
      char buffer[CMSG_SPACE(sizeof(int))];
      struct cmsghdr align;
    } control;
    struct msghdr message = {.msg_iov = &data, .msg_iovlen = 1, .msg_control = control.buffer,
                             .msg_controllen = sizeof control.buffer};
    ssize_t received = recvmsg(pair[0], &message, MSG_CMSG_CLOEXEC);
    struct cmsghdr *header = received > 0 ? CMSG_FIRSTHDR(&message) : NULL;
    if (received <= 0) {
      result = -EPIPE;
    } else if (code != 0) {
      result = -code;
    } else if (header != NULL && header->cmsg_type == SCM_RIGHTS) {
      memcpy(&result, CMSG_DATA(header), sizeof(int));
    } else {
      result = -EPROTO;
    }
  } else {
    kill(child, SIGKILL);
  }
  close(pair[0]);
  while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
  }
  return result;
}

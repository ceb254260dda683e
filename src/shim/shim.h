/* Shared by the parts of tbox-shim; see main.c for the whole picture. */
#ifndef TBOX_SHIM_H
#define TBOX_SHIM_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

/* masked and read-only paths, and --device binds (--privileged binds every host device) */
#define MAX_PATHS 512
#define MAX_HOOK_ARGS 16
#define LINE_MAX_BYTES 16384

struct bind { const char *src, *dst; };

/* A user's mount (-v, --mount, --tmpfs), in the order tbox gives them
 * (parents before children). kind 'b': bind SRC on DST, opts "ro" and/or
 * "seed" (fill an empty volume from the image's files at DST first);
 * kind 't': a tmpfs with mount options. */
struct user_mount { char kind; const char *src, *dst, *opts; };

struct spec {
    const char *rootfs, *lower, *upper, *work, *hostname, *cwd, *exit_file, *log_file, *user;
    int report_fd, sync_fd, loopback_up, tee, tty, interactive;
    /* namespaces to make (mount,uts,ipc,pid,network), and ones to join first (TYPE:PATH, --setns) */
    const char *unshare;
    const char *setns[8];
    int nsetns;
    /* tbox-runtime: pid 1 is handed to the caller's subreaper (conmon, containerd's shim) once it
     * waits at the exec barrier; the shim exits instead of monitoring. No log, no exit file. */
    int hand_off;
    /* with --tty under --hand-off: the pty master goes to this unix socket (the OCI console socket) */
    const char *console_socket;
    /* exec: join this running container's namespaces instead of making new ones */
    int join_pid;
    char *on_exit[MAX_HOOK_ARGS + 1];
    int n_on_exit;
    struct user_mount mounts[MAX_PATHS];
    int nmounts;
    /* --read-only: the root is remounted read-only once everything is in place */
    int readonly_root;
    /* host ports held open while the container runs (proto:ip:port), see ports.c */
    const char **publish;
    int npublish;
    char **argv;
    /* The container's environment (--env-file), set only right before exec:
     * the shim itself, and every host process, runs with tbox's own. */
    char **envp;
    /* Confinement, applied in stages right before exec (see confine.c). */
    struct caps { unsigned long long bounding, effective, permitted, inheritable, ambient; int set; } caps;
    int no_new_privs;
    /* the seccomp rules (see seccomp.c), or -1 */
    int seccomp_fd;
    /* Writable file systems (rootfs, /dev) nodev, the standard nodes bound from the host. */
    int nodev;
    const char *masked[MAX_PATHS], *readonly[MAX_PATHS];
    int nmasked, nreadonly;
    struct bind devices[MAX_PATHS];
    int ndevices;
    /* --rlimit TYPE:SOFT:HARD, applied before the user changes; --init: pid 1 is a reaping init (init.c) */
    const char *rlimits[32];
    int nrlimits;
    int init;
    /* cgroup directories to join (one per v1 controller, one on v2) */
    const char *cgroups[16];
    int cgroup_fds[16];
    int ncgroups;
};

struct stream {
    int fd;          /* read end of the container's stdout or stderr, -1 at EOF */
    int tee_fd;      /* where the bytes also go as they come (foreground), or -1 */
    const char *name;
    char line[LINE_MAX_BYTES];
    size_t len;
};


/* Pipes and sockets between the shim and the container's pid 1. */
extern int err_pipe[2];
extern int out_pipe[2], err_out_pipe[2];
extern int pty_sock[2];
extern volatile sig_atomic_t winch;

/* child.c: pid 1 before exec */
void fail(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void run_child(const struct spec *s) __attribute__((noreturn));

/* inroot.c: paths inside the container's root, never out of it */
int mkdirs_in_root(int rootfd, const char *path);
int mount_dir_in_root(int rootfd, const char *path);
int mount_file_in_root(int rootfd, const char *path);
void fd_path(char *out, size_t len, int fd);
int open_in_root(int rootfd, const char *rel, int flags);

/* confine.c: the process's confinement, after the user is set and before exec */
void drop_bounding(const struct spec *s);
void apply_caps(const struct spec *s);
void mask_paths(const struct spec *s);
void apply_rlimits(const struct spec *s);
void run_init(void);

/* seccomp.c */
void prepare_seccomp(int fd);
void load_seccomp(void);

/* volume.c: the user's mounts */
void mount_user(int rootfd, const struct user_mount *m);

/* ports.c */
int hold_ports(const struct spec *s, char *err, size_t len);

/* rootfs.c */
void loopback_up(void);
void build_root(const struct spec *s);

/* pty.c */
int recv_fd(int sock);
int connect_unix(const char *path);
void take_pty(void);
void relay_pty(int master, int log_fd, int tee, int interactive);

/* explain.c: --explain-fd */
extern int explain_fd;
void explain(const char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* log.c */
void write_all(int fd, const char *buf, size_t len);
void pump(struct stream *st, int log_fd);
void copy_output(int out_fd, int err_fd, int log_fd, int tee);

#endif

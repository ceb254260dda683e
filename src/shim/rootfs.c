/* The container's root: overlay, /proc, /sys, /dev, bind mounts, pivot_root. */
#define _GNU_SOURCE
#include "shim.h"

static void path_in(char *out, size_t len, const char *root, const char *rel) {
    snprintf(out, len, "%s/%s", root, rel[0] == '/' ? rel + 1 : rel);
}

static void mkdir_p(const char *path, mode_t mode) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(tmp, mode);
        *p = '/';
    }
    mkdir(tmp, mode);
}

static void must_mount(const char *src, const char *target, const char *type,
                       unsigned long flags, const char *data) {
    mkdir_p(target, 0755);
    if (mount(src, target, type, flags, data) < 0)
        fail(125, "mount %s on %s: %s", type ? type : src, target, strerror(errno));
}

static void make_dev(const char *rootfs) {
    static const struct { const char *name; unsigned maj, min; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
        {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    static const struct { const char *name, *target; } links[] = {
        {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
        {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
        {"ptmx", "pts/ptmx"},
    };
    char dev[4096], p[4096];
    path_in(dev, sizeof dev, rootfs, "/dev");
    must_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        path_in(p, sizeof p, dev, nodes[i].name);
        if (mknod(p, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
            fail(125, "mknod %s: %s", p, strerror(errno));
        chmod(p, 0666); /* mknod is subject to the umask */
    }
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        path_in(p, sizeof p, dev, links[i].name);
        if (symlink(links[i].target, p) < 0) fail(125, "symlink %s: %s", p, strerror(errno));
    }
    path_in(p, sizeof p, dev, "pts");
    must_mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    path_in(p, sizeof p, dev, "shm");
    must_mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
    path_in(p, sizeof p, dev, "mqueue");
    must_mount("mqueue", p, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static void bind_file(const char *rootfs, const struct bind *b) {
    char dst[4096];
    path_in(dst, sizeof dst, rootfs, b->dst);
    struct stat st;
    if (lstat(dst, &st) < 0 || !S_ISREG(st.st_mode)) {
        /* A symlink here (say /etc/resolv.conf -> ../run/...) could point the
         * bind mount outside the rootfs, so replace it with a plain file. */
        unlink(dst);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", dst);
        char *slash = strrchr(dir, '/');
        if (slash) { *slash = 0; mkdir_p(dir, 0755); }
        int fd = open(dst, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) fail(125, "create %s: %s", dst, strerror(errno));
        close(fd);
    }
    if (mount(b->src, dst, NULL, MS_BIND, NULL) < 0)
        fail(125, "bind %s on %s: %s", b->src, dst, strerror(errno));
}

/* A new network namespace starts with lo down; bring it up without
 * spawning `ip`. */
void loopback_up(void) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) fail(125, "socket: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) fail(125, "lo flags: %s", strerror(errno));
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) fail(125, "lo up: %s", strerror(errno));
    close(sock);
}

void build_root(const struct spec *s) {
    char p[4096], opts[4096];
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail(125, "make / private: %s", strerror(errno));
    int n = snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", s->lower, s->upper, s->work);
    if (n >= (int)sizeof opts) fail(125, "overlay options too long (%d bytes)", n);
    must_mount("overlay", s->rootfs, "overlay", 0, opts);

    path_in(p, sizeof p, s->rootfs, "/proc");
    must_mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    path_in(p, sizeof p, s->rootfs, "/sys");
    must_mount("sysfs", p, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    make_dev(s->rootfs);
    for (int i = 0; i < s->nbinds; i++) bind_file(s->rootfs, &s->binds[i]);

    if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
        fail(125, "sethostname: %s", strerror(errno));

    /* pivot_root(".", ".") stacks the old root under the new one; detaching
     * it leaves no trace of the host's tree and needs no .oldroot directory. */
    if (chdir(s->rootfs) < 0) fail(125, "chdir %s: %s", s->rootfs, strerror(errno));
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail(125, "pivot_root: %s", strerror(errno));
    if (umount2(".", MNT_DETACH) < 0) fail(125, "detach old root: %s", strerror(errno));
    if (chdir("/") < 0) fail(125, "chdir /: %s", strerror(errno));

    const char *cwd = s->cwd ? s->cwd : "/";
    mkdir_p(cwd, 0755);
    if (chdir(cwd) < 0) fail(125, "working directory %s: %s", cwd, strerror(errno));
}


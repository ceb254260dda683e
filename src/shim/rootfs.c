/* The container's root: overlay, /proc, /sys, /dev, the /etc files and the user's mounts (volume.c), pivot_root. */
#define _GNU_SOURCE
#include "shim.h"

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

/* Mount onto a directory inside the root (see inroot.c: never through a
 * symlink out of it). */
static void mount_in_root(int rootfd, const char *src, const char *target, const char *type,
                          unsigned long flags, const char *data) {
    int fd = mount_dir_in_root(rootfd, target);
    if (fd < 0)
        fail(125, "mount target %s in the container: %s", target,
             errno == ELOOP ? "a symlink, which tbox does not mount over" : strerror(errno));
    char p[64];
    fd_path(p, sizeof p, fd);
    if (mount(src, p, type, flags, data) < 0)
        fail(125, "mount %s on %s: %s", type ? type : src, target, strerror(errno));
    close(fd);
}

static void bind_file(int rootfd, const struct bind *b);

/*
 * /dev: a tmpfs with the standard nodes, fd links, pts, shm and mqueue.
 * Confined (nodev), the tmpfs cannot hold a working device node, so a node
 * the container makes with mknod (CAP_MKNOD stays, as in Docker) opens
 * nothing; the standard ones are bind mounts of the host's, which keep
 * working. Privileged, the nodes are made here, and every host device is
 * bound in (--device does the same for one).
 */
static void make_dev(int rootfd, const struct spec *s) {
    static const struct { const char *name; unsigned maj, min; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
        {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    static const struct { const char *name, *target; } links[] = {
        {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
        {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
        {"ptmx", "pts/ptmx"},
    };
    explain("a /dev of its own: only the standard devices (null, zero, full, random, urandom, tty), pts, shm and mqueue",
            "mount -t tmpfs -o mode=755,size=65536k%s tmpfs %s/dev", s->nodev ? ",nodev" : "", s->rootfs);
    mount_in_root(rootfd, "tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME | (s->nodev ? MS_NODEV : 0), "mode=755,size=65536k");
    /* Opened again after the mount: now the fresh tmpfs, which the image
     * cannot have planted anything in. */
    int dev = mkdirs_in_root(rootfd, "/dev");
    if (dev < 0) fail(125, "open /dev: %s", strerror(errno));
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        if (s->nodev) {
            char host[64], inside[64];
            snprintf(host, sizeof host, "/dev/%s", nodes[i].name);
            snprintf(inside, sizeof inside, "/dev/%s", nodes[i].name);
            struct bind b = {host, inside};
            bind_file(rootfd, &b);
            continue;
        }
        if (mknodat(dev, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
            fail(125, "mknod /dev/%s: %s", nodes[i].name, strerror(errno));
        fchmodat(dev, nodes[i].name, 0666, 0); /* mknod is subject to the umask */
    }
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        if (symlinkat(links[i].target, dev, links[i].name) < 0) fail(125, "symlink /dev/%s: %s", links[i].name, strerror(errno));
    }
    close(dev);
    mount_in_root(rootfd, "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    mount_in_root(rootfd, "shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
    mount_in_root(rootfd, "mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    for (int i = 0; i < s->ndevices; i++) bind_file(rootfd, &s->devices[i]);
}

static void bind_file(int rootfd, const struct bind *b) {
    int fd = mount_file_in_root(rootfd, b->dst);
    if (fd < 0) fail(125, "bind target %s in the container: %s", b->dst, strerror(errno));
    char p[64];
    fd_path(p, sizeof p, fd);
    if (mount(b->src, p, NULL, MS_BIND, NULL) < 0)
        fail(125, "bind %s on %s: %s", b->src, b->dst, strerror(errno));
    close(fd);
}

/* A new network namespace starts with lo down; bring it up without
 * spawning `ip`. */
void loopback_up(void) {
    explain("a new network namespace starts with lo down", "ip link set lo up");
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
    char opts[4096];
    explain("mount events stay inside the container's mount namespace", "mount --make-rprivate /");
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail(125, "make / private: %s", strerror(errno));
    if (s->lower) {
        int n = snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", s->lower, s->upper, s->work);
        if (n >= (int)sizeof opts) fail(125, "overlay options too long (%d bytes)", n);
        /* s->rootfs is tbox's own directory; everything below it is the image's. */
        mkdir_p(s->rootfs, 0755);
        explain("overlay: the image's layers, read-only, under a writable layer of the container's own",
                "mount -t overlay overlay -o %s %s", opts, s->rootfs);
        if (mount("overlay", s->rootfs, "overlay", s->nodev ? MS_NODEV : 0, opts) < 0) fail(125, "mount overlay on %s: %s", s->rootfs, strerror(errno));
    } else {
        /* an OCI bundle's root, made by the engine: pivot_root needs it to be a mount point */
        explain("the bundle's root file system, as the engine prepared it", "mount --rbind %s %s", s->rootfs, s->rootfs);
        if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) fail(125, "bind %s: %s", s->rootfs, strerror(errno));
    }
    int rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) fail(125, "open %s: %s", s->rootfs, strerror(errno));

    explain("/proc shows only the container's own processes (its pid namespace)", "mount -t proc proc %s/proc", s->rootfs);
    mount_in_root(rootfd, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    explain("/sys, read-only", "mount -t sysfs -o ro sysfs %s/sys", s->rootfs);
    mount_in_root(rootfd, "sysfs", "/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    make_dev(rootfd, s);
    for (int i = 0; i < s->nmounts; i++) mount_user(rootfd, &s->mounts[i]);

    if (s->hostname) explain("the container's own hostname (its UTS namespace)", "hostname %s", s->hostname);
    if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
        fail(125, "sethostname: %s", strerror(errno));

    /* pivot_root(".", ".") stacks the old root under the new one; detaching
     * it leaves no trace of the host's tree and needs no .oldroot directory. */
    if (fchdir(rootfd) < 0) fail(125, "chdir %s: %s", s->rootfs, strerror(errno));
    close(rootfd);
    explain("the container's root becomes / and the host's tree is detached: nothing of it stays in view",
            "cd %s && pivot_root . . && umount -l .", s->rootfs);
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail(125, "pivot_root: %s", strerror(errno));
    if (umount2(".", MNT_DETACH) < 0) fail(125, "detach old root: %s", strerror(errno));
    if (chdir("/") < 0) fail(125, "chdir /: %s", strerror(errno));
    mask_paths(s);

    /* The host is gone from view now: the working directory is the
     * container's own path, resolved by the kernel inside its root. */
    const char *cwd = s->cwd ? s->cwd : "/";
    mkdir_p(cwd, 0755);
    if (chdir(cwd) < 0) fail(125, "working directory %s: %s", cwd, strerror(errno));
    /* Last, so the working directory could still be made; the mounts on
     * top (/dev, /proc, /etc/hosts, volumes, tmpfs) keep their own flags. */
    if (s->readonly_root) explain("--read-only", "mount -o remount,bind,ro /");
    if (s->readonly_root && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | (s->nodev ? MS_NODEV : 0), NULL) < 0)
        fail(125, "make the root read-only: %s", strerror(errno));
}

/*
 * The user's mounts: volumes and host directories bound in (-v, --mount),
 * and tmpfs (--tmpfs). Targets are resolved inside the root (inroot.c): an
 * image's symlink can point a target anywhere in the container, never
 * outside it. A new, empty volume is first filled with what the image has
 * at the target, as Docker does, by a copy that follows no symlink and
 * makes no device node on the host.
 */
#define _GNU_SOURCE
#include "shim.h"
#include <dirent.h>

static int has_opt(const char *opts, const char *word) {
    size_t n = strlen(word);
    for (const char *p = opts; (p = strstr(p, word)); p += n)
        if ((p == opts || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    return 0;
}

/* A directory stream of its own: a dup() would share the file offset, and a
 * first readdir() reads the whole directory into its buffer. */
static DIR *open_dir(int fd) {
    int own = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return own < 0 ? NULL : fdopendir(own);
}

static int is_empty_dir(int fd) {
    DIR *d = open_dir(fd);
    if (!d) return 0;
    int empty = 1;
    for (struct dirent *e; empty && (e = readdir(d));) empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

static void copy_file(int from, int to, const char *name, const struct stat *st) {
    int in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
    if (in < 0 || out < 0) fail(125, "seed the volume with %s: %s", name, strerror(errno));
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) write_all(out, buf, (size_t)n);
    if (n < 0 || fchown(out, st->st_uid, st->st_gid) < 0 || fchmod(out, st->st_mode & 07777) < 0)
        fail(125, "seed the volume with %s: %s", name, strerror(errno));
    close(in);
    close(out);
}

/* Directories, regular files and symlinks (as links); other kinds are
 * skipped, and so is anything mounted on the way (/proc, /sys, /dev when a
 * volume sits on the root): only the image's own files are copied. */
static void copy_tree(int from, int to, int depth) {
    if (depth > 128) fail(125, "seed the volume: the image's tree is deeper than 128 levels");
    DIR *d = open_dir(from);
    if (!d) fail(125, "seed the volume: %s", strerror(errno));
    for (struct dirent *e; (e = readdir(d));) {
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..")) continue;
        struct stat st;
        if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        if (S_ISDIR(st.st_mode)) {
            struct stat here;
            if (fstat(from, &here) < 0 || here.st_dev != st.st_dev) continue;
            if (mkdirat(to, name, 0700) < 0) fail(125, "seed the volume with %s: %s", name, strerror(errno));
            int sub_from = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int sub_to = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub_from < 0 || sub_to < 0) fail(125, "seed the volume with %s: %s", name, strerror(errno));
            copy_tree(sub_from, sub_to, depth + 1);
            if (fchown(sub_to, st.st_uid, st.st_gid) < 0 || fchmod(sub_to, st.st_mode & 07777) < 0)
                fail(125, "seed the volume with %s: %s", name, strerror(errno));
            close(sub_from);
            close(sub_to);
        } else if (S_ISREG(st.st_mode)) {
            copy_file(from, to, name, &st);
        } else if (S_ISLNK(st.st_mode)) {
            char target[4096];
            ssize_t n = readlinkat(from, name, target, sizeof target - 1);
            if (n < 0) continue;
            target[n] = 0;
            if (symlinkat(target, to, name) < 0 || fchownat(to, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
                fail(125, "seed the volume with %s: %s", name, strerror(errno));
        }
    }
    closedir(d);
}

/* An empty volume takes the image's files at its target, and its owner and mode. */
static void seed_volume(int target_fd, const char *volume) {
    int to = open(volume, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int from = openat(target_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (to < 0 || from < 0) fail(125, "seed the volume %s: %s", volume, strerror(errno));
    if (is_empty_dir(to) && !is_empty_dir(from)) {
        struct stat st;
        copy_tree(from, to, 0);
        if (fstat(from, &st) < 0 || fchown(to, st.st_uid, st.st_gid) < 0 || fchmod(to, st.st_mode & 07777) < 0)
            fail(125, "seed the volume %s: %s", volume, strerror(errno));
    }
    close(from);
    close(to);
}

/* A target that resolves to the root itself (through a symlink to "/") is
 * refused, as Docker refuses the destination "/": mounted over the root,
 * it would hide the image and every mount made after it. */
static void refuse_root(int rootfd, int fd, const char *dst) {
    struct stat root, target;
    if (fstat(rootfd, &root) == 0 && fstat(fd, &target) == 0 && root.st_dev == target.st_dev && root.st_ino == target.st_ino)
        fail(125, "mount target %s in the container resolves to its root directory", dst);
}

static void mount_tmpfs(int rootfd, const struct user_mount *m) {
    static const struct { const char *word; unsigned long set, clear; } words[] = {
        {"ro", MS_RDONLY, 0}, {"rw", 0, MS_RDONLY}, {"exec", 0, MS_NOEXEC}, {"noexec", MS_NOEXEC, 0},
        {"suid", 0, MS_NOSUID}, {"nosuid", MS_NOSUID, 0}, {"dev", 0, MS_NODEV}, {"nodev", MS_NODEV, 0},
        {"strictatime", MS_STRICTATIME, 0}, {"relatime", MS_RELATIME, 0}, {"noatime", MS_NOATIME, 0},
        {"nodiratime", MS_NODIRATIME, 0}, {"sync", MS_SYNCHRONOUS, 0},
    };
    /* Docker's defaults for --tmpfs */
    unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    char data[1024] = "", opts[1024];
    snprintf(opts, sizeof opts, "%s", m->opts);
    for (char *save = NULL, *w = strtok_r(opts, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        size_t k = 0;
        while (k < sizeof words / sizeof words[0] && strcmp(words[k].word, w)) k++;
        if (k < sizeof words / sizeof words[0]) flags = (flags | words[k].set) & ~words[k].clear;
        else snprintf(data + strlen(data), sizeof data - strlen(data), "%s%s", *data ? "," : "", w);
    }
    int fd = mkdirs_in_root(rootfd, m->dst);
    if (fd < 0) fail(125, "tmpfs target %s in the container: %s", m->dst, strerror(errno));
    refuse_root(rootfd, fd, m->dst);
    char p[64];
    fd_path(p, sizeof p, fd);
    explain("--tmpfs: memory-backed, gone with the container", "mount -t tmpfs -o %s tmpfs %s", m->opts, m->dst);
    if (mount("tmpfs", p, "tmpfs", flags, data) < 0) fail(125, "mount tmpfs on %s: %s", m->dst, strerror(errno));
    close(fd);
}

void mount_user(int rootfd, const struct user_mount *m) {
    if (m->kind == 't') {
        mount_tmpfs(rootfd, m);
        return;
    }
    struct stat src;
    if (stat(m->src, &src) < 0) fail(125, "mount source %s: %s", m->src, strerror(errno));
    int fd = S_ISDIR(src.st_mode) ? mkdirs_in_root(rootfd, m->dst) : mount_file_in_root(rootfd, m->dst);
    if (fd < 0) fail(125, "mount target %s in the container: %s", m->dst, strerror(errno));
    refuse_root(rootfd, fd, m->dst);
    if (has_opt(m->opts, "seed") && S_ISDIR(src.st_mode)) {
        explain("a new, empty volume is filled with the image's files at its path", "cp -a %s/. %s", m->dst, m->src);
        seed_volume(fd, m->src);
    }
    explain(strncmp(m->dst, "/etc/", 5) ? "a volume or host path, shared with the host" : "tbox's file for the container (hostname, hosts, resolv.conf)",
            "mount --bind%s %s %s", has_opt(m->opts, "ro") ? " -o ro" : "", m->src, m->dst);
    char p[64];
    fd_path(p, sizeof p, fd);
    if (mount(m->src, p, NULL, MS_BIND | MS_REC, NULL) < 0) fail(125, "bind %s on %s: %s", m->src, m->dst, strerror(errno));
    close(fd);
    if (!has_opt(m->opts, "ro")) return;
    /* The remount must name the new mount, not the directory under it: open the target again. */
    const char *rel = m->dst;
    while (*rel == '/') rel++;
    fd = open_in_root(rootfd, *rel ? rel : ".", O_PATH);
    fd_path(p, sizeof p, fd);
    if (fd < 0 || mount(NULL, p, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        fail(125, "make %s read-only: %s", m->dst, strerror(errno));
    close(fd);
}

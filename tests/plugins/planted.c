/* A plugin planted by an attacker: its constructor runs as soon as it is loaded and leaves a
 * marker file (at $UPOPT_PLANTED_MARKER, or "planted-driver-ran" in the current directory), so a
 * test can tell whether the registry ever loaded it. It has no entry point: loading alone is the
 * harm. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void upopt_planted_ran(void)
{
    const char *path = getenv("UPOPT_PLANTED_MARKER");
    int fd = open(path && *path ? path : "planted-driver-ran", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
}

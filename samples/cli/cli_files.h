/*
 * cli_files.h -- the readers of the CLI's own files: the profile file
 * (~/.config/upopmail/config) and ~/.netrc. Pure functions over bytes in memory, so that
 * tests/fuzz/fuzz_clifiles.cpp can feed them anything; opening the files, their permissions
 * and the messages around them stay in upopmail_cli.c.
 */
#ifndef UPOPMAIL_CLI_FILES_H
#define UPOPMAIL_CLI_FILES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLI_FILE_MAX (1024 * 1024) /* a larger profile or netrc file is refused */

enum { CLI_SERVER, CLI_PORT, CLI_SECURITY, CLI_AUTH, CLI_USER, CLI_FROM, CLI_CA, CLI_TIMEOUT, CLI_PROFILE_KEYS };
extern const char *const cli_profile_keys[CLI_PROFILE_KEYS];

typedef struct cli_profile {
    char *values[CLI_PROFILE_KEYS]; /* malloc'd or NULL: KEY, or PROTO.KEY which wins */
    int found;                      /* the section [name] is there */
} cli_profile;

/* Parses a profile file: "[NAME]" sections of "KEY = VALUE" lines, "#" and ";" comments.
 * Fills out with section name's values for protocol proto ("smtp" or "pop"). Every section is
 * checked: an unknown key or a password anywhere is an error. Returns 0, or -1 with err set to
 * "LINE: what is wrong" (and out freed); -2 when out of memory. */
int cli_profile_parse(const char *text, size_t len, const char *name, const char *proto, cli_profile *out,
                      char *err, size_t errcap);
void cli_profile_free(cli_profile *p);

typedef struct cli_netrc {
    char *login, *password; /* malloc'd or NULL */
} cli_netrc;

/* Finds the netrc entry of host ("machine HOST", else "default") whose login is user (any login
 * when user is NULL; an entry without login matches any user). Tokens are separated by blanks;
 * a token may be "quoted" with \-escapes; "macdef" bodies run to the next empty line. Returns
 * 1 (out filled), 0 (none), -2 (out of memory). */
int cli_netrc_find(const char *text, size_t len, const char *host, const char *user, cli_netrc *out);
void cli_netrc_free(cli_netrc *n); /* wipes the password */

#ifdef __cplusplus
}
#endif
#endif

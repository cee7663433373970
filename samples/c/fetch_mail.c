/*
 * fetch_mail.c -- read mail over POP3 (STLS, then USER/PASS over TLS) through the installed
 * upopmail SDK: list the mailbox, find a message by its subject, print it as stored.
 *
 * Build against an installed prefix (nothing from the source tree is needed):
 *   cc -I$PREFIX/include fetch_mail.c -L$PREFIX/lib -lupopmail -Wl,-rpath,$PREFIX/lib -o fetch_mail
 *
 * Usage: fetch_mail [options]     (each option falls back to the environment variable shown)
 *   --host NAME        UPOPMAIL_HOST      server name, checked against its certificate (localhost)
 *   --port N           UPOPMAIL_POP_PORT  POP3 port with STLS (110)
 *   --user NAME        UPOPMAIL_USER      login name
 *   --password TEXT    UPOPMAIL_PASSWORD  password (prefer the environment variable)
 *   --ca FILE          UPOPMAIL_CA        CA certificate to trust (default: the system store)
 *   --match TEXT                          the subject must contain TEXT (default: the newest)
 *   --wait SECONDS                        poll until such a message is there (default 0: once)
 *   --delete                              delete the message (committed at logoff)
 *   --trace                               print the protocol trace (secrets redacted) to stderr
 *
 * Prints "found message ID: SUBJECT" and then the raw message; exits 0 when it was found.
 */
#define _POSIX_C_SOURCE 200809L
#include <upopmail.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *opt_or_env(const char *value, const char *env, const char *fallback)
{
    const char *e;
    if (value != NULL)
        return value;
    e = getenv(env);
    return (e != NULL && e[0] != '\0') ? e : fallback;
}

static void on_trace(void *user, int server, char direction, const char *line)
{
    (void)user;
    fprintf(stderr, "%s %c %s\n", server == UPOP_SMTP ? "SMTP" : "POP", direction, line);
}

/* Reads a whole long output through the -16 continuation into a malloc'ed string.
 * first/next are called with (h, buf, cap); returns the final status, *out owned by the caller. */
typedef int (*part_fn)(upop *h, char *buf, size_t cap, void *ctx);
static int read_all(upop *h, part_fn first, part_fn next, void *ctx, char **out)
{
    size_t cap = 64 * 1024, len = 0;
    char *chunk = malloc(cap), *all = NULL;
    int rc;
    *out = NULL;
    if (chunk == NULL)
        return UPOP_E_MEMORY;
    rc = first(h, chunk, cap, ctx);
    for (;;) {
        size_t n = strlen(chunk);
        char *grown;
        if (rc < 0 && rc != UPOP_E_MORE)
            break;
        grown = realloc(all, len + n + 1);
        if (grown == NULL) {
            rc = UPOP_E_MEMORY;
            break;
        }
        all = grown;
        memcpy(all + len, chunk, n + 1);
        len += n;
        if (rc != UPOP_E_MORE)
            break;
        rc = next(h, chunk, cap, ctx);
    }
    free(chunk);
    if (rc < 0) {
        free(all);
        all = NULL;
    }
    *out = all;
    return rc;
}

static int list_first(upop *h, char *b, size_t c, void *x) { (void)x; return upop_list_mail(h, b, c); }
static int list_next(upop *h, char *b, size_t c, void *x) { (void)x; return upop_list_mail_x(h, b, c); }
static int raw_first(upop *h, char *b, size_t c, void *x) { return upop_get_raw_mail(h, *(int32_t *)x, 0, b, c); }
static int raw_next(upop *h, char *b, size_t c, void *x) { (void)x; return upop_get_raw_mail_x(h, b, c); }

/* The value of item name in the message block [p, end) of a ListMail list, copied to out. */
static void item(const char *p, const char *end, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    while (p < end) {
        const char *e = memchr(p, UPOP_SEP, (size_t)(end - p));
        if (e == NULL)
            e = end;
        if ((size_t)(e - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t n = (size_t)(e - p) - nl - 1;
            if (n >= cap)
                n = cap - 1;
            memcpy(out, p + nl + 1, n);
            out[n] = '\0';
            return;
        }
        p = e + 1;
    }
}

/* Finds the last message whose SUBJECT contains match; returns its ID or 0. */
static int32_t find_message(const char *list, const char *match, char *subject, size_t cap)
{
    int32_t found = 0;
    const char *p = list, *end = list + strlen(list);
    while (p < end) {
        /* one message block runs from "NMB=" to the next separator followed by "NMB=" */
        const char *q = p + 1, *block_end = end;
        char id[32];
        while ((q = memchr(q, UPOP_SEP, (size_t)(end - q))) != NULL) {
            if (strncmp(q + 1, "NMB=", 4) == 0) {
                block_end = q;
                break;
            }
            q++;
        }
        item(p, block_end, "SUBJECT", subject, cap);
        item(p, block_end, "ID", id, sizeof id);
        if (match[0] == '\0' || strstr(subject, match) != NULL)
            found = (int32_t)atol(id);
        p = block_end + 1;
    }
    return found;
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--host NAME] [--port N] [--user NAME] [--password TEXT] [--ca FILE]\n"
            "          [--match TEXT] [--wait SECONDS] [--delete] [--trace]\n", argv0);
    return 2;
}

int main(int argc, char **argv)
{
    const char *host = NULL, *port = NULL, *user = NULL, *password = NULL, *ca = NULL;
    const char *match = "", *wait_s = "0";
    int trace = 0, del = 0, i, rc, status = 1;
    char connection[300], config_dir[] = "/tmp/fetch_mail.XXXXXX", config[64], subject[2048];
    int have_config_dir = 0;
    int32_t id = 0;
    time_t deadline;
    upop *h = NULL;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **target = NULL;
        if (strcmp(a, "--trace") == 0) { trace = 1; continue; }
        if (strcmp(a, "--delete") == 0) { del = 1; continue; }
        if (strcmp(a, "--host") == 0) target = &host;
        else if (strcmp(a, "--port") == 0) target = &port;
        else if (strcmp(a, "--user") == 0) target = &user;
        else if (strcmp(a, "--password") == 0) target = &password;
        else if (strcmp(a, "--ca") == 0) target = &ca;
        else if (strcmp(a, "--match") == 0) target = &match;
        else if (strcmp(a, "--wait") == 0) target = &wait_s;
        if (target == NULL || i + 1 >= argc)
            return usage(argv[0]);
        *target = argv[++i];
    }
    host = opt_or_env(host, "UPOPMAIL_HOST", "localhost");
    port = opt_or_env(port, "UPOPMAIL_POP_PORT", "110");
    user = opt_or_env(user, "UPOPMAIL_USER", "");
    password = opt_or_env(password, "UPOPMAIL_PASSWORD", "");
    ca = opt_or_env(ca, "UPOPMAIL_CA", "");
    if (user[0] == '\0' || password[0] == '\0') {
        fprintf(stderr, "fetch_mail: give --user and --password (or UPOPMAIL_USER and UPOPMAIL_PASSWORD)\n");
        return usage(argv[0]);
    }
    deadline = time(NULL) + atoi(wait_s);

    if (upop_create(&h) != UPOP_OK) {
        fprintf(stderr, "fetch_mail: upop_create: %s\n", upop_last_error(NULL));
        return 1;
    }
    if (trace)
        upop_set_trace(h, on_trace, NULL);
    upop_set_option(h, "timeout_ms", "30000");
    if (ca[0] != '\0') {
        FILE *f;
        if (mkdtemp(config_dir) == NULL) {
            perror("fetch_mail: mkdtemp");
            goto out;
        }
        have_config_dir = 1;
        snprintf(config, sizeof config, "%s/tls.json", config_dir);
        f = fopen(config, "w");
        /* a path with a quote or backslash would need JSON escaping: refuse it in this sample */
        if (f == NULL || strpbrk(ca, "\"\\") != NULL ||
            fprintf(f, "{\"default\": {\"ca_certificate\": \"%s\"}}\n", ca) < 0 || fclose(f) != 0) {
            fprintf(stderr, "fetch_mail: cannot write the TLS configuration for %s\n", ca);
            goto out;
        }
        if (upop_set_option(h, "config", config) != UPOP_OK) {
            fprintf(stderr, "fetch_mail: config: %s\n", upop_last_error(h));
            goto out;
        }
    }
    snprintf(connection, sizeof connection, "%s+%s", host, port);

    for (;;) {
        char *list = NULL;
        /* STLS first; USER/PASS then travel over TLS (a new context for each lifetime) */
        if ((rc = upop_set_security(h, "POP=STARTTLS", "")) != UPOP_OK) {
            fprintf(stderr, "fetch_mail: set_security: %d %s\n", rc, upop_last_error(h));
            goto out;
        }
        if ((rc = upop_connect(h, UPOP_POP, connection, user, password)) != UPOP_OK) {
            fprintf(stderr, "fetch_mail: logon %s: %d %s\n", connection, rc, upop_last_error(h));
            goto out;
        }
        rc = read_all(h, list_first, list_next, NULL, &list);
        if (rc < 0) {
            fprintf(stderr, "fetch_mail: list: %d %s\n", rc, upop_last_error(h));
            goto out;
        }
        id = find_message(list, match, subject, sizeof subject);
        free(list);
        if (id > 0 || time(NULL) >= deadline)
            break;
        upop_disconnect(h, UPOP_POP);
        {
            struct timespec pause = {0, 200 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    if (id == 0) {
        fprintf(stderr, "fetch_mail: no message%s%s\n", match[0] ? " with subject containing " : "", match);
        upop_disconnect(h, UPOP_POP);
        goto out;
    }
    {
        char *raw = NULL;
        printf("found message %d: %s\n", (int)id, subject);
        rc = read_all(h, raw_first, raw_next, &id, &raw);
        if (rc < 0) {
            fprintf(stderr, "fetch_mail: get_raw_mail %d: %d %s\n", (int)id, rc, upop_last_error(h));
            goto out;
        }
        fputs(raw, stdout);
        free(raw);
    }
    if (del && (rc = upop_delete_mail(h, id)) != UPOP_OK) {
        fprintf(stderr, "fetch_mail: delete %d: %d %s\n", (int)id, rc, upop_last_error(h));
        goto out;
    }
    if ((rc = upop_disconnect(h, UPOP_POP)) != UPOP_OK) {
        fprintf(stderr, "fetch_mail: logoff: %d %s\n", rc, upop_last_error(h));
        goto out;
    }
    if (del)
        printf("deleted message %d\n", (int)id);
    status = 0;

out:
    upop_destroy(h);
    if (have_config_dir) {
        remove(config);
        rmdir(config_dir);
    }
    return status;
}

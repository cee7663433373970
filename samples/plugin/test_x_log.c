/*
 * test_x_log.c -- shows the third-party driver X-LOG called in its place in the security context:
 * STARTTLS, X-LOG, AUTH PLAIN on the real submission server. Afterwards the driver's record must
 * read create, verify (tls=1), open (tls=1), close, destroy, and in the protocol trace its open
 * must come after the STARTTLS command and before AUTH PLAIN. The registry must have loaded it
 * from UPOPMAIL_DRIVER_PATH.
 *
 * Usage: test_x_log RECORD-FILE    (MAILTEST_USER/PASS/ADDR/CA and PORT_SUBMISSION in the env)
 * Prints "N passed, M failed" and exits non-zero when a check failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <upopmail.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int passed, failed;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            fprintf(stderr, "FAILED line %d: %s: ", __LINE__, #cond);                              \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define MAX_LINES 400
static char *trace_lines[MAX_LINES];
static int n_trace;

static void on_trace(void *user, int server, char direction, const char *line)
{
    char buf[600];
    (void)user;
    snprintf(buf, sizeof buf, "%s %c %s", server == UPOP_SMTP ? "SMTP" : "POP", direction, line);
    printf("  trace: %s\n", buf);
    if (n_trace < MAX_LINES) trace_lines[n_trace++] = strdup(buf);
}

/* Index of the first trace line that starts with prefix (or contains it, with contains=1). */
static int trace_index(const char *text, int contains)
{
    int i;
    for (i = 0; i < n_trace; i++)
        if (contains ? strstr(trace_lines[i], text) != NULL
                     : strncmp(trace_lines[i], text, strlen(text)) == 0)
            return i;
    return -1;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0') {
        fprintf(stderr, "test_x_log: %s is not set: run it from scripts/check (real servers)\n", name);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *record = argc > 1 ? argv[1] : "x_log_record.txt";
    const char *user = env("MAILTEST_USER"), *pass = env("MAILTEST_PASS"), *addr = env("MAILTEST_ADDR");
    const char *ca = env("MAILTEST_CA"), *port = env("PORT_SUBMISSION");
    char config[512], conn[64], params[1200], subject[128], props[UPOP_PROPERTIES_MAX], info[UPOP_RUNTIME_INFO_MAX];
    char lines[8][256];
    int n_lines = 0, rc, i;
    upop *h = NULL;
    FILE *f;

    remove(record);
    snprintf(config, sizeof config, "%s.tls.json", record);
    f = fopen(config, "w");
    if (f == NULL) { perror(config); return 2; }
    fprintf(f, "{\"default\": {\"ca_certificate\": \"%s\"}}\n", ca);
    fclose(f);

    CHECK(upop_create(&h) == UPOP_OK, "upop_create");
    upop_set_trace(h, on_trace, NULL);
    CHECK(upop_set_option(h, "config", config) == UPOP_OK, "%s", upop_last_error(h));
    CHECK(upop_set_option(h, "timeout_ms", "20000") == UPOP_OK, "%s", upop_last_error(h));

    /* X-LOG requires its file parameter: the host refuses it without (-1, naming the key) */
    rc = upop_set_security(h, "SMTP=X-LOG", "");
    CHECK(rc == UPOP_E_INIT && strstr(upop_last_error(h), "file") != NULL, "%d %s", rc, upop_last_error(h));

    snprintf(params, sizeof params, "file=%s;label=x-log", record);
    CHECK(upop_set_security(h, "SMTP=STARTTLS", "") == UPOP_OK, "%s", upop_last_error(h));
    rc = upop_set_security(h, "SMTP=X-LOG", params);
    CHECK(rc == UPOP_OK, "X-LOG not found or refused: %d %s", rc, upop_last_error(h));
    snprintf(params, sizeof params, "user=%s;password=%s", user, pass);
    CHECK(upop_set_security(h, "SMTP=AUTH PLAIN", params) == UPOP_OK, "%s", upop_last_error(h));
    memset(params, 0, sizeof params);

    snprintf(conn, sizeof conn, "localhost+%s", port);
    rc = upop_connect(h, UPOP_SMTP, conn, "", "");
    CHECK(rc == UPOP_OK, "logon: %d %s", rc, upop_last_error(h));
    if (rc == UPOP_OK) {
        snprintf(subject, sizeof subject, "x-log plugin test %ld", (long)time(NULL));
        upop_set_from(h, addr);
        upop_set_to_list(h, addr);
        upop_set_subject(h, subject);
        upop_set_message(h, "sent with X-LOG in the context", "");
        rc = upop_send(h, "");
        CHECK(rc == UPOP_OK, "send: %d %s", rc, upop_last_error(h));
        rc = upop_get_security(h, 2, "SMTP=", props, sizeof props, info, sizeof info);
        for (i = 0; info[i]; i++)
            if (info[i] == UPOP_SEP) info[i] = ';';
        printf("driver 2: %s -> %s\n", props, info);
        CHECK(rc == UPOP_OK && strcmp(props, "SMTP=X-LOG") == 0, "%d %s", rc, props);
        CHECK(strncmp(info, "INUSE=TRUE", 10) == 0 && strstr(info, "FILE=") && strstr(info, "CALLS=3"),
              "runtime info %s", info);
        CHECK(upop_disconnect(h, UPOP_SMTP) == UPOP_OK, "logoff: %s", upop_last_error(h));
    }
    {   /* the registry loaded X-LOG from UPOPMAIL_DRIVER_PATH */
        char *json = upop_drivers_json();
        const char *dir = getenv("UPOPMAIL_DRIVER_PATH");
        const char *x = json ? strstr(json, "\"X-LOG\"") : NULL;
        CHECK(x != NULL && dir != NULL && strstr(json, dir) != NULL, "registry: %s", json ? json : "(null)");
        upop_free(json);
    }
    upop_destroy(h);
    remove(config);

    /* the record, line by line */
    f = fopen(record, "r");
    CHECK(f != NULL, "no record file %s", record);
    if (f != NULL) {
        while (n_lines < 8 && fgets(lines[n_lines], sizeof lines[0], f) != NULL) {
            lines[n_lines][strcspn(lines[n_lines], "\n")] = '\0';
            printf("record: %s\n", lines[n_lines]);
            n_lines++;
        }
        fclose(f);
    }
    CHECK(n_lines == 5, "%d record lines", n_lines);
    if (n_lines == 5) {
        CHECK(strcmp(lines[0], "x-log create server=SMTP") == 0, "%s", lines[0]);
        /* verified only after the transport changed: STARTTLS stops the first verification */
        CHECK(strcmp(lines[1], "x-log verify server=SMTP tls=1 mech_plain=1") == 0, "%s", lines[1]);
        CHECK(strncmp(lines[2], "x-log open server=SMTP tls=1 host=localhost port=", 49) == 0, "%s", lines[2]);
        CHECK(strcmp(lines[3], "x-log close server=SMTP tls=1") == 0, "%s", lines[3]);
        CHECK(strcmp(lines[4], "x-log destroy") == 0, "%s", lines[4]);
    }

    /* its place in the logon: after STARTTLS went through, before AUTH PLAIN */
    {
        int starttls = trace_index("SMTP > STARTTLS", 0);
        int open = trace_index("x-log open server=SMTP", 1);
        int auth = trace_index("SMTP > AUTH PLAIN", 0);
        int close = trace_index("x-log close server=SMTP", 1);
        int quit = trace_index("SMTP > QUIT", 0);
        printf("trace order: STARTTLS %d, X-LOG open %d, AUTH PLAIN %d, X-LOG close %d, QUIT %d\n",
               starttls, open, auth, close, quit);
        CHECK(starttls >= 0 && open > starttls && auth > open, "STARTTLS < X-LOG open < AUTH PLAIN");
        CHECK(close > auth, "X-LOG closed at logoff");
    }
    for (i = 0; i < n_trace; i++) free(trace_lines[i]);
    remove(record);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

/*
 * send_mail.c -- send one message with STARTTLS + AUTH through the installed upopmail SDK.
 *
 * Build against an installed prefix (nothing from the source tree is needed):
 *   cc -I$PREFIX/include send_mail.c -L$PREFIX/lib -lupopmail -Wl,-rpath,$PREFIX/lib -o send_mail
 *
 * Usage: send_mail [options]      (each option falls back to the environment variable shown)
 *   --host NAME        UPOPMAIL_HOST      server name, checked against its certificate (localhost)
 *   --port N           UPOPMAIL_PORT      submission port with STARTTLS (587)
 *   --user NAME        UPOPMAIL_USER      login name
 *   --password TEXT    UPOPMAIL_PASSWORD  password (prefer the environment variable: the
 *                                          command line is visible to other users)
 *   --ca FILE          UPOPMAIL_CA        CA certificate to trust (default: the system store)
 *   --from ADDR        UPOPMAIL_FROM      sender (default: the user)
 *   --to LIST          UPOPMAIL_TO        recipients, ';'-separated (default: the sender)
 *   --subject TEXT                        subject (default "upopmail sample")
 *   --body TEXT                           body text
 *   --plain | --login                     AUTH PLAIN (default) or AUTH LOGIN
 *   --trace                               print the protocol trace (secrets redacted) to stderr
 *   --drivers                             at the end, print what the driver registry found and
 *                                         loaded (upop_drivers_json)
 *
 * Prints the runtime information of every driver of the SMTP security context and exits 0 only
 * when the message was sent and every driver reports INUSE=TRUE.
 */
#define _POSIX_C_SOURCE 200809L
#include <upopmail.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Appends s to buf as a JSON string (with quotes); returns 0, or -1 when it does not fit. */
static int json_string(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    if (n + 1 >= cap)
        return -1;
    buf[n++] = '"';
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (n + 7 >= cap)
            return -1;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    buf[n] = '\0';
    return 0;
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--host NAME] [--port N] [--user NAME] [--password TEXT] [--ca FILE]\n"
            "          [--from ADDR] [--to LIST] [--subject TEXT] [--body TEXT]\n"
            "          [--plain|--login] [--trace] [--drivers]\n", argv0);
    return 2;
}

int main(int argc, char **argv)
{
    const char *host = NULL, *port = NULL, *user = NULL, *ca = NULL, *from = NULL, *to = NULL;
    const char *password = NULL;
    const char *subject = "upopmail sample";
    const char *body = "Hello from the upopmail C sample.\n";
    const char *mechanism = "SMTP=AUTH PLAIN";
    int trace = 0, list_drivers = 0, i, rc, status = 1, all_in_use = 1, drivers = 0;
    char connection[300], params[1024], config_dir[] = "/tmp/send_mail.XXXXXX", config[64];
    int have_config_dir = 0;
    upop *h = NULL;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **target = NULL;
        if (strcmp(a, "--plain") == 0) { mechanism = "SMTP=AUTH PLAIN"; continue; }
        if (strcmp(a, "--login") == 0) { mechanism = "SMTP=AUTH LOGIN"; continue; }
        if (strcmp(a, "--trace") == 0) { trace = 1; continue; }
        if (strcmp(a, "--drivers") == 0) { list_drivers = 1; continue; }
        if (strcmp(a, "--host") == 0) target = &host;
        else if (strcmp(a, "--port") == 0) target = &port;
        else if (strcmp(a, "--user") == 0) target = &user;
        else if (strcmp(a, "--password") == 0) target = &password;
        else if (strcmp(a, "--ca") == 0) target = &ca;
        else if (strcmp(a, "--from") == 0) target = &from;
        else if (strcmp(a, "--to") == 0) target = &to;
        else if (strcmp(a, "--subject") == 0) target = &subject;
        else if (strcmp(a, "--body") == 0) target = &body;
        if (target == NULL || i + 1 >= argc)
            return usage(argv[0]);
        *target = argv[++i];
    }
    host = opt_or_env(host, "UPOPMAIL_HOST", "localhost");
    port = opt_or_env(port, "UPOPMAIL_PORT", "587");
    user = opt_or_env(user, "UPOPMAIL_USER", "");
    ca = opt_or_env(ca, "UPOPMAIL_CA", "");
    from = opt_or_env(from, "UPOPMAIL_FROM", user);
    to = opt_or_env(to, "UPOPMAIL_TO", from);
    password = opt_or_env(password, "UPOPMAIL_PASSWORD", "");
    if (user[0] == '\0' || password[0] == '\0') {
        fprintf(stderr, "send_mail: give --user and --password (or UPOPMAIL_USER and "
                        "UPOPMAIL_PASSWORD)\n");
        return usage(argv[0]);
    }

    if (upop_create(&h) != UPOP_OK) {
        fprintf(stderr, "send_mail: upop_create: %s\n", upop_last_error(NULL));
        return 1;
    }
    if (trace)
        upop_set_trace(h, on_trace, NULL);
    upop_set_option(h, "timeout_ms", "30000");

    /* Trust only the given CA: a TLS configuration whose default profile names it. */
    if (ca[0] != '\0') {
        char json[1200] = "{\"default\": {\"ca_certificate\": ";
        FILE *f;
        if (json_string(json, sizeof json, ca) != 0 || mkdtemp(config_dir) == NULL) {
            fprintf(stderr, "send_mail: cannot prepare the TLS configuration\n");
            goto out;
        }
        have_config_dir = 1;
        strcat(json, "}}\n");
        snprintf(config, sizeof config, "%s/tls.json", config_dir);
        f = fopen(config, "w");
        if (f == NULL || fputs(json, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "send_mail: cannot write %s\n", config);
            goto out;
        }
        if (upop_set_option(h, "config", config) != UPOP_OK) {
            fprintf(stderr, "send_mail: config: %s\n", upop_last_error(h));
            goto out;
        }
    }

    /* The security context: STARTTLS first, then the authentication over the encrypted link. */
    params[0] = '\0';
    strcat(params, "{\"user\": ");
    if (json_string(params, sizeof params, user) != 0 ||
        strlen(params) + 16 >= sizeof params) {
        fprintf(stderr, "send_mail: user name too long\n");
        goto out;
    }
    strcat(params, ", \"password\": ");
    if (json_string(params, sizeof params, password) != 0 ||
        strlen(params) + 2 >= sizeof params) {
        fprintf(stderr, "send_mail: password too long\n");
        goto out;
    }
    strcat(params, "}");
    if ((rc = upop_set_security(h, "SMTP=STARTTLS", "")) != UPOP_OK ||
        (rc = upop_set_security(h, mechanism, params)) != UPOP_OK) {
        fprintf(stderr, "send_mail: set_security: %d %s\n", rc, upop_last_error(h));
        goto out;
    }

    snprintf(connection, sizeof connection, "%s+%s", host, port);
    if ((rc = upop_connect(h, UPOP_SMTP, connection, "", "")) != UPOP_OK) {
        fprintf(stderr, "send_mail: connect %s: %d %s\n", connection, rc, upop_last_error(h));
        goto out;
    }
    if ((rc = upop_set_from(h, from)) != UPOP_OK || (rc = upop_set_to_list(h, to)) != UPOP_OK ||
        (rc = upop_set_subject(h, subject)) != UPOP_OK ||
        (rc = upop_set_message(h, body, "")) != UPOP_OK) {
        fprintf(stderr, "send_mail: composing: %d %s\n", rc, upop_last_error(h));
        goto out;
    }
    if ((rc = upop_send(h, "")) != UPOP_OK) {
        int32_t code = 0;
        char reply[UPOP_REPLY_MAX];
        upop_get_smtp_response(h, &code, reply, sizeof reply);
        fprintf(stderr, "send_mail: send: %d %s (server: %d %s)\n", rc, upop_last_error(h),
                (int)code, reply);
        goto out;
    }
    printf("sent \"%s\" from %s to %s via %s\n", subject, from, to, connection);

    /* What each driver did, while the session is still open. */
    for (i = 1;; i++) {
        char props[UPOP_PROPERTIES_MAX], info[UPOP_RUNTIME_INFO_MAX], *p;
        if (upop_get_security(h, i, "SMTP=", props, sizeof props, info, sizeof info) != UPOP_OK)
            break;
        for (p = props; *p != '\0'; p++)
            if (*p == UPOP_SEP) *p = ';';
        for (p = info; *p != '\0'; p++)
            if (*p == UPOP_SEP) *p = ';';
        printf("driver %d: %s -> %s\n", i, props, info);
        drivers++;
        if (strncmp(info, "INUSE=TRUE", 10) != 0)
            all_in_use = 0;
    }
    upop_disconnect(h, UPOP_SMTP);
    if (drivers == 0)
        fprintf(stderr, "send_mail: upop_get_security reported no driver\n");
    else if (!all_in_use)
        fprintf(stderr, "send_mail: a driver was not used\n");
    status = (drivers > 0 && all_in_use) ? 0 : 1;
    if (list_drivers) {
        char *json = upop_drivers_json();
        printf("driver registry:\n%s\n", json != NULL ? json : "(out of memory)");
        upop_free(json);
    }

out:
    upop_destroy(h);
    {   /* the JSON parameters held the password: do not leave it in memory */
        volatile char *v = params;
        size_t k;
        for (k = 0; k < sizeof params; k++)
            v[k] = 0;
    }
    if (have_config_dir) {
        remove(config);
        rmdir(config_dir);
    }
    return status;
}

/*
 * x_log.c -- "X-LOG", a third-party upopmail driver built out of the source tree against the
 * installed SDK (upopmail_driver.h) only.
 *
 * It needs nothing from the server and authenticates nobody: it records every call the host makes
 * (create, verify, open, close, destroy) into the file named by its parameter `file`, one line
 * each, with whether TLS was active at that moment, and writes the same events to the protocol
 * trace. Put it anywhere in a security context to see where in the logon it runs, e.g.
 *   upop_set_security(h, "SMTP=STARTTLS", "");
 *   upop_set_security(h, "SMTP=X-LOG", "file=/tmp/x-log.txt;label=between");
 *   upop_set_security(h, "SMTP=AUTH PLAIN", "{\"user\": ..., \"password\": ...}");
 * GetSecurity reports FILE=<path> and CALLS=<number of calls recorded>.
 *
 * Parameters: file (required), label (optional, written at the start of every line).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <upopmail_driver.h>

typedef struct xlog {
    char *file;
    char *label;
    int calls;
} xlog;

static const upopd_param xlog_params[] = {
    {"file", UPOPD_P_REQUIRED},
    {"label", 0},
    {NULL, 0},
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Appends "label event server=SMTP tls=0|1 extra" to the file and to the trace. */
static int record(xlog *x, const upopd_host_api *api, upopd_host *h, const char *event, const char *extra)
{
    char line[512];
    int server = api->server_type(h);
    FILE *f;
    if (strcmp(event, "create") != 0)
        snprintf(line, sizeof line, "%s%s%s server=%s tls=%d%s%s", x->label ? x->label : "",
                 x->label ? " " : "", event, server == UPOPD_SMTP ? "SMTP" : "POP",
                 api->tls_active(h) ? 1 : 0, extra ? " " : "", extra ? extra : "");
    else /* create (SetSecurity): there is no connection yet */
        snprintf(line, sizeof line, "%s%s%s server=%s", x->label ? x->label : "", x->label ? " " : "",
                 event, server == UPOPD_SMTP ? "SMTP" : "POP");
    x->calls++;
    api->log(h, 0, line);
    f = fopen(x->file, "a");
    if (f == NULL) {
        api->error(h, "X-LOG cannot open its file for appending");
        return UPOPD_ERROR;
    }
    fprintf(f, "%s\n", line);
    return fclose(f) == 0 ? UPOPD_OK : UPOPD_ERROR;
}

static int xlog_create(const upopd_host_api *api, upopd_host *h, void **state)
{
    xlog *x = calloc(1, sizeof *x);
    const char *label = api->param(h, "label");
    *state = NULL;
    if (x == NULL || (x->file = dup_str(api->param(h, "file"))) == NULL ||
        (label != NULL && (x->label = dup_str(label)) == NULL)) {
        if (x) free(x->file);
        free(x);
        api->error(h, "X-LOG: out of memory");
        return UPOPD_ERROR;
    }
    *state = x;
    return record(x, api, h, "create", NULL);
}

static int xlog_verify(void *state, const upopd_host_api *api, upopd_host *h)
{
    /* no server requirement; note what the server offers at this point of the walk */
    char extra[64];
    snprintf(extra, sizeof extra, "mech_plain=%d", api->has_mechanism(h, "PLAIN") ? 1 : 0);
    return record(state, api, h, "verify", extra) == UPOPD_OK ? UPOPD_OK : UPOPD_ERROR;
}

static int xlog_open(void *state, const upopd_host_api *api, upopd_host *h)
{
    char extra[300];
    snprintf(extra, sizeof extra, "host=%s port=%d", api->server_host(h), api->server_port(h));
    return record(state, api, h, "open", extra);
}

static int xlog_close(void *state, const upopd_host_api *api, upopd_host *h)
{
    return record(state, api, h, "close", NULL);
}

static int xlog_runtime_info(void *state, const upopd_host_api *api, upopd_host *h)
{
    xlog *x = state;
    char n[16];
    snprintf(n, sizeof n, "%d", x->calls);
    api->runtime_info(h, "FILE", x->file);
    api->runtime_info(h, "CALLS", n);
    return UPOPD_OK;
}

static void xlog_destroy(void *state)
{
    xlog *x = state;
    FILE *f;
    if (x == NULL) return;
    f = fopen(x->file, "a"); /* no host table here: the file only */
    if (f != NULL) {
        fprintf(f, "%s%sdestroy\n", x->label ? x->label : "", x->label ? " " : "");
        fclose(f);
    }
    free(x->file);
    free(x->label);
    free(x);
}

static const char *const xlog_aliases[] = {"XLOG", NULL};
static const upopd_driver xlog_driver = {
    sizeof(upopd_driver),
    UPOPD_ABI_VERSION,
    "X-LOG",
    xlog_aliases,
    UPOPD_SERVER_BIT(UPOPD_SMTP) | UPOPD_SERVER_BIT(UPOPD_POP),
    0, /* neither changes the transport nor authenticates */
    xlog_params,
    xlog_create,
    xlog_verify,
    xlog_open,
    xlog_close,
    xlog_runtime_info,
    xlog_destroy,
    {0},
};

static const upopd_driver *const table[] = {&xlog_driver};
UPOPD_DEFINE_ENTRY(table)

/*
 * cli_files.c -- the readers of the CLI's profile file and ~/.netrc (cli_files.h).
 */
#include "cli_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const cli_profile_keys[CLI_PROFILE_KEYS] = {"server", "port", "security", "auth",
                                                        "user",   "from", "ca",       "timeout"};

static char *dup_n(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d == NULL) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static void wipe_free(char *s)
{
    if (s == NULL) return;
    volatile char *v = s;
    while (*v) *v++ = 0;
    free(s);
}

static void trim_span(const char **b, const char **e)
{
    while (*b < *e && (**b == ' ' || **b == '\t')) (*b)++;
    while (*e > *b && ((*e)[-1] == ' ' || (*e)[-1] == '\t' || (*e)[-1] == '\r')) (*e)--;
}

/* "n: message" into err; what (a piece of the file) with anything unprintable as '?' */
static int fail(char *err, size_t cap, int line, const char *msg, const char *what, size_t what_len)
{
    char shown[72];
    size_t i, n = what_len < sizeof shown - 1 ? what_len : sizeof shown - 1;
    for (i = 0; i < n; i++) shown[i] = (what[i] >= 0x20 && what[i] < 0x7f) ? what[i] : '?';
    shown[n] = '\0';
    if (cap) snprintf(err, cap, "%d: %s%s%s%s", line, msg, what ? " '" : "", what ? shown : "", what ? "'" : "");
    return -1;
}

void cli_profile_free(cli_profile *p)
{
    int i;
    for (i = 0; i < CLI_PROFILE_KEYS; i++) free(p->values[i]), p->values[i] = NULL;
    p->found = 0;
}

int cli_profile_parse(const char *text, size_t len, const char *name, const char *proto, cli_profile *out,
                      char *err, size_t errcap)
{
    char *scoped_values[CLI_PROFILE_KEYS] = {0};
    const char *p = text, *end = text + len;
    int lineno = 0, in_section = 0, any_section = 0, rc = 0, i;
    memset(out, 0, sizeof *out);
    if (len > CLI_FILE_MAX) return fail(err, errcap, 0, "larger than 1 MiB", NULL, 0);
    while (p < end && rc == 0) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *b = p, *e = nl ? nl : end, *eq, *kb, *ke, *vb, *ve;
        int scoped = 0, mine = 1;
        size_t kl;
        p = nl ? nl + 1 : end;
        lineno++;
        if (memchr(b, '\0', (size_t)(e - b))) {
            rc = fail(err, errcap, lineno, "a NUL byte in the line", NULL, 0);
            break;
        }
        trim_span(&b, &e);
        if (b == e || *b == '#' || *b == ';') continue;
        if (*b == '[') {
            const char *nb = b + 1, *ne = e - 1;
            if (e - b < 3 || e[-1] != ']') {
                rc = fail(err, errcap, lineno, "expected [PROFILE], not", b, (size_t)(e - b));
                break;
            }
            trim_span(&nb, &ne);
            in_section = strlen(name) == (size_t)(ne - nb) && memcmp(nb, name, (size_t)(ne - nb)) == 0;
            if (in_section) out->found = 1;
            any_section = 1;
            continue;
        }
        eq = memchr(b, '=', (size_t)(e - b));
        if (eq == NULL || !any_section) {
            rc = fail(err, errcap, lineno, "expected [PROFILE], KEY = VALUE or a # comment, not", b, (size_t)(e - b));
            break;
        }
        kb = b, ke = eq, vb = eq + 1, ve = e;
        trim_span(&kb, &ke);
        trim_span(&vb, &ve);
        kl = (size_t)(ke - kb);
        if (kl > 5 && memcmp(kb, "smtp.", 5) == 0) scoped = 1, mine = strcmp(proto, "smtp") == 0, kb += 5, kl -= 5;
        else if (kl > 4 && memcmp(kb, "pop.", 4) == 0) scoped = 1, mine = strcmp(proto, "pop") == 0, kb += 4, kl -= 4;
        if ((kl == 8 && memcmp(kb, "password", 8) == 0) || (kl == 5 && memcmp(kb, "token", 5) == 0)) {
            rc = fail(err, errcap, lineno,
                      "passwords are not kept in the profile file: use ~/.netrc (mode 600), --password-file or "
                      "$UPOPMAIL_PASSWORD",
                      NULL, 0);
            break;
        }
        for (i = 0; i < CLI_PROFILE_KEYS; i++)
            if (strlen(cli_profile_keys[i]) == kl && memcmp(cli_profile_keys[i], kb, kl) == 0) break;
        if (i == CLI_PROFILE_KEYS) {
            rc = fail(err, errcap, lineno,
                      "unknown key (known: server, port, security, auth, user, from, ca, timeout, each also as "
                      "smtp.KEY or pop.KEY):",
                      kb, kl);
            break;
        }
        if (in_section && mine) {
            char **slot = scoped ? &scoped_values[i] : &out->values[i];
            free(*slot);
            if ((*slot = dup_n(vb, (size_t)(ve - vb))) == NULL) rc = -2;
        }
    }
    for (i = 0; i < CLI_PROFILE_KEYS; i++) {
        if (scoped_values[i] && rc == 0) free(out->values[i]), out->values[i] = scoped_values[i];
        else free(scoped_values[i]);
    }
    if (rc != 0) cli_profile_free(out);
    return rc;
}

/* ------------------------------------------------------------------ netrc */

typedef struct lexer {
    const char *p, *end;
    int oom;
} lexer;

/* The next blank-separated token (a "quoted" one with \-escapes), malloc'd; NULL at the end. */
static char *next_token(lexer *lx)
{
    char *tok;
    size_t n = 0;
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' || *lx->p == '\n')) lx->p++;
    if (lx->p >= lx->end) return NULL;
    tok = malloc((size_t)(lx->end - lx->p) + 1);
    if (tok == NULL) {
        lx->oom = 1;
        lx->p = lx->end;
        return NULL;
    }
    if (*lx->p == '"') {
        for (lx->p++; lx->p < lx->end && *lx->p != '"'; lx->p++) {
            if (*lx->p == '\\' && lx->p + 1 < lx->end) lx->p++;
            tok[n++] = *lx->p;
        }
        if (lx->p < lx->end) lx->p++; /* the closing quote */
    } else {
        while (lx->p < lx->end && *lx->p != ' ' && *lx->p != '\t' && *lx->p != '\r' && *lx->p != '\n')
            tok[n++] = *lx->p++;
    }
    tok[n] = '\0';
    return tok;
}

/* A macdef body: from the end of its line to the next empty line. */
static void skip_macro(lexer *lx)
{
    const char *nl = memchr(lx->p, '\n', (size_t)(lx->end - lx->p));
    while (nl != NULL) {
        const char *q = nl + 1;
        if (q < lx->end && *q == '\r') q++;
        if (q < lx->end && *q == '\n') {
            lx->p = q + 1;
            return;
        }
        nl = memchr(q, '\n', (size_t)(lx->end - q));
    }
    lx->p = lx->end;
}

static int entry_ok(const char *login, const char *pass, const char *user)
{
    return pass != NULL && (user == NULL || login == NULL || strcmp(user, login) == 0);
}

void cli_netrc_free(cli_netrc *n)
{
    free(n->login);
    wipe_free(n->password);
    n->login = n->password = NULL;
}

int cli_netrc_find(const char *text, size_t len, const char *host, const char *user, cli_netrc *out)
{
    lexer lx = {text, text + (len > CLI_FILE_MAX ? 0 : len), 0};
    char *tok, *login = NULL, *pass = NULL;
    int in_match = 0;
    memset(out, 0, sizeof *out);
    while ((tok = next_token(&lx)) != NULL) {
        if (strcmp(tok, "machine") == 0 || strcmp(tok, "default") == 0) {
            if (in_match && entry_ok(login, pass, user)) {
                free(tok);
                goto found;
            }
            free(login), wipe_free(pass);
            login = pass = NULL;
            if (strcmp(tok, "default") == 0) {
                in_match = 1;
            } else {
                char *h = next_token(&lx);
                in_match = h != NULL && strcasecmp(h, host) == 0;
                free(h);
            }
        } else if (strcmp(tok, "login") == 0) {
            free(login);
            login = next_token(&lx);
        } else if (strcmp(tok, "password") == 0) {
            wipe_free(pass);
            pass = next_token(&lx);
        } else if (strcmp(tok, "account") == 0) {
            wipe_free(next_token(&lx));
        } else if (strcmp(tok, "macdef") == 0) {
            free(next_token(&lx));
            skip_macro(&lx);
        }
        wipe_free(tok);
    }
    if (!lx.oom && in_match && entry_ok(login, pass, user)) goto found;
    free(login), wipe_free(pass);
    return lx.oom ? -2 : 0;
found:
    out->login = login;
    out->password = pass;
    return 1;
}

/*
 * upopmail -- the command-line program of the upopmail component, written against the C ABI
 * (upopmail.h) only. `upopmail --help` and `upopmail COMMAND --help` describe it.
 */
#define _XOPEN_SOURCE 700
#include <upopmail.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define EXIT_WARNING 20 /* the operation succeeded with a warning (refused recipients, ...) */
#define EXIT_USAGE 64
#define EXIT_LOCAL 1    /* the program itself failed (a file it writes, memory) */
#define PROGRESS_THRESHOLD (4LL * 1024 * 1024)

static const char *prog = "upopmail";
static const char *cur_command = ""; /* "send ", ... for the usage hint */

/* ------------------------------------------------------------------ help texts */

static const char *main_help =
    "usage: upopmail COMMAND [OPTIONS]\n"
    "\n"
    "Send mail over SMTP and read it over POP3 with the upopmail component.\n"
    "\n"
    "Commands:\n"
    "  send      compose a message and send it over SMTP\n"
    "  list      list the messages of a POP3 mailbox\n"
    "  get       fetch one message, decoded or (--raw) as stored\n"
    "  delete    delete messages from a POP3 mailbox\n"
    "  drivers   show the security drivers the registry found\n"
    "\n"
    "`upopmail COMMAND --help` describes a command and its options.\n"
    "`upopmail --version` prints the version of the program and of the library.\n";

static const char *common_help =
    "Connection and security:\n"
    "  -s, --server CONN      where to connect: smtp://HOST[:PORT], smtps://HOST[:PORT],\n"
    "                         pop3://HOST[:PORT], pop3s://HOST[:PORT], or the component's form\n"
    "                         [TLS:]HOST[+PORT][:PROFILE]. Default: $UPOPMAIL_SMTP_SERVER for send,\n"
    "                         $UPOPMAIL_POP_SERVER for list, get and delete.\n"
    "  --security 'SERVER=DRIVER[;USE=OPT]'\n"
    "                         append a security driver to the context, e.g. SMTP=STARTTLS,\n"
    "                         'SMTP=AUTH LOGIN', POP=STARTTLS, 'POP=AUTH PLAIN'; repeat it: the\n"
    "                         drivers run in the order given. `upopmail drivers` lists them.\n"
    "  -p, --param KEY=VALUE  a parameter of the driver of the preceding --security (repeat).\n"
    "                         Credentials need no --param: user and password (or token) go to\n"
    "                         every driver that accepts them.\n"
    "  -u, --user NAME        user name ($UPOPMAIL_USER)\n"
    "  --password-file FILE   read the password from the first line of FILE ('-': standard input)\n"
    "  --password-env VAR     read the password from the variable VAR (default UPOPMAIL_PASSWORD)\n"
    "  --token-file FILE      read an OAuth 2 token for XOAUTH2/OAUTHBEARER ($UPOPMAIL_TOKEN)\n"
    "                         Without a password from these, a terminal is asked for it (no echo).\n"
    "                         Passwords are never taken from the command line nor printed.\n"
    "  --ca FILE              trust this CA certificate (PEM) instead of the system store\n"
    "  --config FILE          TLS configuration (JSON; default $UPOPMAIL_CONFIG)\n"
    "  --timeout SECONDS      deadline of every network step (default 60)\n"
    "  --allow-plaintext      allow credentials on a connection without TLS (not recommended)\n"
    "  --trace                print the protocol trace to standard error (secrets redacted)\n"
    "  --progress, --no-progress\n"
    "                         show a progress bar (default: on a terminal, above 4 MB)\n"
    "  -q, --quiet            print nothing but errors and the requested output\n"
    "  -h, --help             this help\n"
    "\n"
    "Exit status: 0 success; 1-18 the library's status code without its sign (e.g. 8: the\n"
    "security context failed, 9: network error; see upopmail.h); 20 done with a warning (some\n"
    "recipients refused, an attachment not written); 64 wrong usage; 1 also for local errors.\n";

static const char *send_help =
    "usage: upopmail send [OPTIONS] --from ADDR --to ADDR [--subject TEXT] [--text TEXT]\n"
    "       upopmail send [OPTIONS] --eml FILE [--to ADDR]...\n"
    "\n"
    "Composes a message and sends it over SMTP, e.g.\n"
    "  UPOPMAIL_PASSWORD=... upopmail send -s smtp://mail.example.org:587 \\\n"
    "      --security SMTP=STARTTLS --security 'SMTP=AUTH LOGIN' -u me@example.org \\\n"
    "      --from me@example.org --to you@example.org --subject Hello --text 'Hi!'\n"
    "\n"
    "Message:\n"
    "  -f, --from ADDR        sender ($UPOPMAIL_FROM; default: the user name if it is an address)\n"
    "  -t, --to ADDR          recipient (repeat, or ';'-separated); --cc, --bcc likewise\n"
    "  --reply-to ADDR        Reply-To address\n"
    "  --subject TEXT         subject (Unicode)\n"
    "  --text TEXT            plain-text body\n"
    "  --text-file FILE       plain-text body from FILE ('-': standard input)\n"
    "  --html-file FILE       HTML body from FILE\n"
    "  -a, --attach FILE      attach FILE (repeat)\n"
    "  --inline CID=FILE      an inline object the HTML refers to as cid:CID (repeat)\n"
    "  --priority N           1 (highest) to 5 (lowest)\n"
    "  --message-id ID        Message-ID to use ('auto' generates one; default: a fresh one)\n"
    "  --header 'NAME: VALUE' an extra header field, e.g. 'In-Reply-To: <id@host>' (repeat)\n"
    "  --eml FILE             send FILE, an existing RFC 5322 message, as it is ('-': standard\n"
    "                         input); the recipients are --to/--cc/--bcc if given, else the\n"
    "                         message's To, Cc and Bcc (its Bcc field is removed); the composing\n"
    "                         options above do not apply\n"
    "Envelope and delivery:\n"
    "  --envelope-from ADDR   MAIL FROM apart from From ('<>': the null reverse-path, for bounces)\n"
    "  --notify LIST          DSN: NEVER, or any of SUCCESS,FAILURE,DELAY (when the server offers\n"
    "                         DSN; else a warning says none was requested); --ret FULL|HDRS,\n"
    "                         --envid ID likewise\n"
    "  --max-size BYTES       refuse to send a larger message (status -6)\n"
    "  --ignore-rcpt-errors   send to the accepted recipients when some are refused (exit 20)\n"
    "\n";

static const char *list_help =
    "usage: upopmail list [OPTIONS] [--uidl] [--json]\n"
    "\n"
    "Lists the messages of a POP3 mailbox: ID, size, date, sender and subject, one line each.\n"
    "  --uidl                 add the UIDL column (the id that stays the same across sessions)\n"
    "  --json                 print a JSON array of objects (NMB, ID, FROM, SUBJECT, DATE,\n"
    "                         PRIORITY, SIZE, UIDL) instead\n"
    "Example: upopmail list -s pop3s://mail.example.org -u me\n"
    "\n";

static const char *get_help =
    "usage: upopmail get [OPTIONS] ID|UIDL\n"
    "       upopmail get --uidl [OPTIONS] UIDL\n"
    "       upopmail get --all [--headers] [--delete] -o DIR\n"
    "\n"
    "Fetches a message by its number or its UIDL (as `upopmail list` shows them; numbers\n"
    "change when other sessions delete messages, a UIDL does not).\n"
    "  --uidl                 the argument is a UIDL even when it is digits alone\n"
    "  --all                  every message of the mailbox, as stored on the server, each into\n"
    "                         DIR/ID.eml (never overwriting a file); streamed and pipelined, so\n"
    "                         memory does not grow with the message sizes\n"
    "  --headers              with --all: only each message's header (TOP n 0)\n"
    "  --raw                  the message exactly as stored on the server\n"
    "                         (default: decoded: the header fields, a blank line, the text;\n"
    "                         every other part is written as a file to --attachments)\n"
    "  -o, --output FILE      write to FILE instead of standard output\n"
    "  --attachments DIR      where decoded parts are written (default: the current directory)\n"
    "  --max-size BYTES       refuse a larger message (status -6)\n"
    "  --delete               delete the message after fetching it\n"
    "\n";

static const char *delete_help =
    "usage: upopmail delete [OPTIONS] [--uidl] ID|UIDL...\n"
    "\n"
    "Deletes the messages (numbers or UIDLs as `upopmail list` shows them). The server removes them when the\n"
    "session ends normally; if the connection breaks first, they are kept.\n"
    "  --uidl                 every argument is a UIDL, even one of digits alone\n"
    "\n";

static const char *drivers_help =
    "usage: upopmail drivers [--json] [--path DIR]...\n"
    "\n"
    "Shows the security drivers the registry found (name, aliases, servers, library), the\n"
    "plugins it rejected and why, and the directories it searched. The search path is the\n"
    "directories given with --path, then $UPOPMAIL_DRIVER_PATH, then the install directory.\n"
    "  --json                 print the registry's JSON document as it is\n"
    "  --path DIR             also search DIR (repeat)\n";

/* ------------------------------------------------------------------ small helpers */

static void errorf(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--) *v++ = 0;
}

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *d;
        while (cap < b->len + n + 1) cap *= 2;
        d = malloc(cap); /* not realloc: the old block may hold a secret, wiped below */
        if (d == NULL) {
            errorf("out of memory");
            exit(EXIT_LOCAL);
        }
        if (b->data) {
            memcpy(d, b->data, b->len + 1);
            wipe(b->data, b->cap);
            free(b->data);
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}
static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }
static void buf_free(buf *b)
{
    if (b->data) {
        wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Appends s as a JSON string. */
static void buf_json(buf *b, const char *s)
{
    buf_str(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c, esc[2] = 0;
            buf_str(b, esc);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            buf_str(b, esc);
        } else {
            buf_add(b, (const char *)&c, 1);
        }
    }
    buf_str(b, "\"");
}

/* Reads a whole file ('-': stdin) into b. Returns 0 or -1 (errno set). */
static int read_file(const char *path, buf *b)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char chunk[65536];
    size_t n;
    if (f == NULL) return -1;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) buf_add(b, chunk, n);
    if (b->data == NULL) buf_add(b, "", 0);
    wipe(chunk, sizeof chunk);
    if (ferror(f)) {
        if (f != stdin) fclose(f);
        return -1;
    }
    if (f != stdin) fclose(f);
    return 0;
}

/* The first line of a file (a password or token file), without its line end. */
static char *read_secret_file(const char *path)
{
    buf b = {0};
    char *s;
    if (read_file(path, &b) != 0) {
        errorf("cannot read %s: %s", path, strerror(errno));
        buf_free(&b);
        return NULL;
    }
    b.data[strcspn(b.data, "\r\n")] = '\0';
    s = strdup(b.data);
    buf_free(&b);
    return s;
}

/* Asks the terminal for a password without echo. */
static char *prompt_secret(const char *what)
{
    struct termios old, quiet;
    char line[1024];
    FILE *tty = fopen("/dev/tty", "r+");
    char *s = NULL;
    if (tty == NULL) return NULL;
    fprintf(tty, "%s: ", what);
    fflush(tty);
    if (tcgetattr(fileno(tty), &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
        if (fgets(line, sizeof line, tty) != NULL) {
            line[strcspn(line, "\r\n")] = '\0';
            s = strdup(line);
        }
        tcsetattr(fileno(tty), TCSAFLUSH, &old);
        fputc('\n', tty);
    }
    wipe(line, sizeof line);
    fclose(tty);
    return s;
}

/* ------------------------------------------------------------------ options */

#define MAX_DRIVERS 32
#define MAX_PARAMS 32
#define MAX_ITEMS 256

typedef struct driver_opt {
    const char *properties;
    const char *keys[MAX_PARAMS];
    const char *values[MAX_PARAMS];
    int n;
} driver_opt;

typedef struct opts {
    const char *command;
    const char *server, *user, *password_file, *password_env, *token_file, *ca, *config;
    const char *timeout;
    int allow_plaintext, trace, progress /* -1 auto */, quiet, json, raw, del, all, headers, uidl;
    driver_opt drivers[MAX_DRIVERS];
    int n_drivers;
    /* send */
    const char *from, *reply_to, *subject, *text, *text_file, *html_file, *priority, *message_id;
    const char *max_size;
    int ignore_rcpt;
    const char *eml, *envelope_from, *notify, *ret, *envid;
    const char *hdr[MAX_ITEMS];
    int n_hdr;
    const char *to[MAX_ITEMS], *cc[MAX_ITEMS], *bcc[MAX_ITEMS], *attach[MAX_ITEMS], *inl[MAX_ITEMS];
    int n_to, n_cc, n_bcc, n_attach, n_inl;
    /* get / delete / drivers */
    const char *output, *att_dir;
    const char *args[MAX_ITEMS];
    int n_args;
    const char *paths[MAX_ITEMS];
    int n_paths;
} opts;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see `upopmail %s--help`)\n", cur_command);
    return EXIT_USAGE;
}

static void print_help(const char *command)
{
    if (command == NULL) {
        fputs(main_help, stdout);
        return;
    }
    if (strcmp(command, "send") == 0) fputs(send_help, stdout), fputs(common_help, stdout);
    else if (strcmp(command, "list") == 0) fputs(list_help, stdout), fputs(common_help, stdout);
    else if (strcmp(command, "get") == 0) fputs(get_help, stdout), fputs(common_help, stdout);
    else if (strcmp(command, "delete") == 0) fputs(delete_help, stdout), fputs(common_help, stdout);
    else if (strcmp(command, "drivers") == 0) fputs(drivers_help, stdout);
}

static int push(const char **list, int *n, const char *v, const char *what)
{
    if (*n >= MAX_ITEMS) return usage_error("too many %s options", what);
    list[(*n)++] = v;
    return 0;
}

/* Parses argv after the command. Returns 0, or an exit status (help printed: -1). */
static int parse(int argc, char **argv, opts *o)
{
    int i;
    const int is_send = strcmp(o->command, "send") == 0;
    const int is_drivers = strcmp(o->command, "drivers") == 0;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = NULL;
        char name[64];
        const char *eq;
#define FLAG(s) (strcmp(name, s) == 0)
        if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++)
                if (push(o->args, &o->n_args, argv[i], "argument")) return EXIT_USAGE;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (push(o->args, &o->n_args, a, "argument")) return EXIT_USAGE;
            continue;
        }
        /* --name=value or --name value */
        eq = strchr(a, '=');
        if (a[1] == '-' && eq != NULL && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        if (FLAG("-h") || FLAG("--help")) {
            print_help(o->command);
            return -1;
        }
        /* flags without a value */
        if (FLAG("--trace")) { o->trace = 1; continue; }
        if (FLAG("--progress")) { o->progress = 1; continue; }
        if (FLAG("--no-progress")) { o->progress = 0; continue; }
        if (FLAG("-q") || FLAG("--quiet")) { o->quiet = 1; continue; }
        if (FLAG("--allow-plaintext")) { o->allow_plaintext = 1; continue; }
        if (FLAG("--json")) { o->json = 1; continue; }
        if (FLAG("--raw")) { o->raw = 1; continue; }
        if (FLAG("--delete")) { o->del = 1; continue; }
        if (FLAG("--all")) { o->all = 1; continue; }
        if (FLAG("--headers")) { o->headers = 1; continue; }
        if (FLAG("--uidl")) { o->uidl = 1; continue; }
        if (FLAG("--ignore-rcpt-errors")) { o->ignore_rcpt = 1; continue; }
        if (FLAG("--password")) {
            errorf("--password is not accepted: the command line is visible to other users. Use "
                   "--password-file, --password-env or $UPOPMAIL_PASSWORD, or type it when asked.");
            return EXIT_USAGE;
        }
        if (v == NULL) {
            if (i + 1 >= argc) return usage_error("option %s needs a value", name);
            v = argv[++i];
        }
        if (FLAG("-s") || FLAG("--server")) o->server = v;
        else if (FLAG("--security")) {
            if (o->n_drivers >= MAX_DRIVERS) return usage_error("too many %s options", name);
            o->drivers[o->n_drivers++].properties = v;
        } else if (FLAG("-p") || FLAG("--param")) {
            driver_opt *d;
            const char *e = strchr(v, '=');
            if (o->n_drivers == 0) return usage_error("%s must follow the --security it belongs to", name);
            if (e == NULL || e == v) return usage_error("--param needs KEY=VALUE, not '%s'", v);
            d = &o->drivers[o->n_drivers - 1];
            if (d->n >= MAX_PARAMS) return usage_error("too many %s options", name);
            d->keys[d->n] = strndup(v, (size_t)(e - v));
            d->values[d->n++] = e + 1;
        } else if (FLAG("-u") || FLAG("--user")) o->user = v;
        else if (FLAG("--password-file")) o->password_file = v;
        else if (FLAG("--password-env")) o->password_env = v;
        else if (FLAG("--token-file")) o->token_file = v;
        else if (FLAG("--ca")) o->ca = v;
        else if (FLAG("--config")) o->config = v;
        else if (FLAG("--timeout")) o->timeout = v;
        else if (is_send && (FLAG("-f") || FLAG("--from"))) o->from = v;
        else if (is_send && (FLAG("-t") || FLAG("--to"))) { if (push(o->to, &o->n_to, v, name)) return EXIT_USAGE; }
        else if (is_send && FLAG("--cc")) { if (push(o->cc, &o->n_cc, v, name)) return EXIT_USAGE; }
        else if (is_send && FLAG("--bcc")) { if (push(o->bcc, &o->n_bcc, v, name)) return EXIT_USAGE; }
        else if (is_send && FLAG("--reply-to")) o->reply_to = v;
        else if (is_send && FLAG("--subject")) o->subject = v;
        else if (is_send && FLAG("--text")) o->text = v;
        else if (is_send && FLAG("--text-file")) o->text_file = v;
        else if (is_send && FLAG("--html-file")) o->html_file = v;
        else if (is_send && (FLAG("-a") || FLAG("--attach"))) { if (push(o->attach, &o->n_attach, v, name)) return EXIT_USAGE; }
        else if (is_send && FLAG("--inline")) { if (push(o->inl, &o->n_inl, v, name)) return EXIT_USAGE; }
        else if (is_send && FLAG("--priority")) o->priority = v;
        else if (is_send && FLAG("--message-id")) o->message_id = v;
        else if (is_send && FLAG("--header")) { if (push(o->hdr, &o->n_hdr, v, name)) return EXIT_USAGE; }
        else if (is_send && FLAG("--eml")) o->eml = v;
        else if (is_send && FLAG("--envelope-from")) o->envelope_from = v;
        else if (is_send && FLAG("--notify")) o->notify = v;
        else if (is_send && FLAG("--ret")) o->ret = v;
        else if (is_send && FLAG("--envid")) o->envid = v;
        else if (FLAG("--max-size")) o->max_size = v;
        else if (FLAG("-o") || FLAG("--output")) o->output = v;
        else if (FLAG("--attachments")) o->att_dir = v;
        else if (is_drivers && FLAG("--path")) { if (push(o->paths, &o->n_paths, v, name)) return EXIT_USAGE; }
        else return usage_error("unknown option %s", name);
#undef FLAG
    }
    return 0;
}

/* ------------------------------------------------------------------ the session */

typedef struct session {
    opts *o;
    upop *h;
    char *password, *token;
    char config_path[64], config_dir[32];
    int progress_shown;
} session;

static void on_trace(void *user, int server, char direction, const char *line)
{
    session *s = user;
    if (s->progress_shown) { /* keep the bar and the trace apart */
        fputc('\n', stderr);
        s->progress_shown = 0;
    }
    fprintf(stderr, "%s %c %s\n", server == UPOP_SMTP ? "SMTP" : "POP", direction, line);
}

static int on_progress(void *user, int64_t done, int64_t total)
{
    session *s = user;
    char bar[41];
    int width = 40, filled, pct;
    if (s->o->progress < 0 && (total > 0 ? total : done) < PROGRESS_THRESHOLD) return 0;
    if (total > 0) {
        pct = (int)(done * 100 / total);
        filled = (int)(done * width / total);
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '.', (size_t)(width - filled));
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %3d%%  %.1f/%.1f MB", bar, pct, done / 1048576.0, total / 1048576.0);
    } else {
        fprintf(stderr, "\r%.1f MB", done / 1048576.0);
    }
    fflush(stderr);
    s->progress_shown = 1;
    return 0;
}

static void end_progress(session *s)
{
    if (s->progress_shown) fputc('\n', stderr);
    s->progress_shown = 0;
}

/* The failure of a library call: prints it and returns the exit status. */
static int fail(session *s, const char *what, int rc)
{
    end_progress(s);
    errorf("%s failed: %d %s", what, rc, upop_last_error(s->h)[0] ? upop_last_error(s->h) : "(no details)");
    return rc < 0 ? -rc : EXIT_LOCAL;
}

static int fail_smtp(session *s, const char *what, int rc)
{
    char sentence[1024], reply[UPOP_REPLY_MAX];
    int32_t code = 0;
    end_progress(s);
    snprintf(sentence, sizeof sentence, "%s", upop_last_error(s->h));
    reply[0] = '\0';
    upop_get_smtp_response(s->h, &code, reply, sizeof reply);
    if (code != 0)
        errorf("%s failed: %d %s (server: %d %s)", what, rc, sentence, (int)code, reply);
    else
        errorf("%s failed: %d %s", what, rc, sentence);
    return rc < 0 ? -rc : EXIT_LOCAL;
}

/* Sets up the handle: options, TLS configuration, trace, progress, credentials, the security
 * context of server ("SMTP" or "POP"). Returns 0 or an exit status. */
static int open_session(session *s, const char *server)
{
    opts *o = s->o;
    int rc, i;
    const char *env;
    if ((rc = upop_create(&s->h)) != UPOP_OK) {
        errorf("cannot create the component: %s", upop_last_error(NULL));
        return -rc;
    }
    if (o->trace) upop_set_trace(s->h, on_trace, s);
    if (o->progress != 0 && isatty(2)) upop_set_progress(s->h, on_progress, s);
    if (o->timeout) {
        char ms[32];
        char *end;
        double secs = strtod(o->timeout, &end);
        if (*end != '\0' || secs <= 0) return usage_error("--timeout needs seconds, not '%s'", o->timeout);
        snprintf(ms, sizeof ms, "%.0f", secs * 1000);
        if ((rc = upop_set_option(s->h, "timeout_ms", ms)) != UPOP_OK) return fail(s, "--timeout", rc);
    }
    if (o->allow_plaintext && (rc = upop_set_option(s->h, "allow_plaintext", "true")) != UPOP_OK)
        return fail(s, "--allow-plaintext", rc);
    if (o->ca) {
        buf json = {0};
        FILE *f;
        char *abs = realpath(o->ca, NULL);
        if (abs == NULL) {
            errorf("--ca %s: %s", o->ca, strerror(errno));
            return 13;
        }
        strcpy(s->config_dir, "/tmp/upopmail.XXXXXX");
        if (mkdtemp(s->config_dir) == NULL) {
            free(abs);
            errorf("cannot create a temporary directory: %s", strerror(errno));
            return EXIT_LOCAL;
        }
        snprintf(s->config_path, sizeof s->config_path, "%s/tls.json", s->config_dir);
        buf_str(&json, "{\"default\": {\"ca_certificate\": ");
        buf_json(&json, abs);
        buf_str(&json, "}}\n");
        free(abs);
        f = fopen(s->config_path, "w");
        if (f == NULL || fputs(json.data, f) < 0 || fclose(f) != 0) {
            buf_free(&json);
            errorf("cannot write %s", s->config_path);
            return EXIT_LOCAL;
        }
        buf_free(&json);
        if ((rc = upop_set_option(s->h, "config", s->config_path)) != UPOP_OK) return fail(s, "--ca", rc);
    } else if (o->config && (rc = upop_set_option(s->h, "config", o->config)) != UPOP_OK) {
        return fail(s, "--config", rc);
    }

    /* credentials: never from the command line */
    if (o->user == NULL && (env = getenv("UPOPMAIL_USER")) != NULL && env[0]) o->user = env;
    if (o->token_file) {
        if ((s->token = read_secret_file(o->token_file)) == NULL) return 13;
    } else if ((env = getenv("UPOPMAIL_TOKEN")) != NULL && env[0]) {
        s->token = strdup(env);
    }
    if (o->password_file) {
        if ((s->password = read_secret_file(o->password_file)) == NULL) return 13;
    } else {
        const char *var = o->password_env ? o->password_env : "UPOPMAIL_PASSWORD";
        if ((env = getenv(var)) != NULL && env[0]) s->password = strdup(env);
        else if (o->password_env) {
            errorf("the variable %s named by --password-env is not set", var);
            return EXIT_USAGE;
        }
    }
    if (o->user && s->password == NULL && s->token == NULL && isatty(0)) {
        char prompt[300];
        snprintf(prompt, sizeof prompt, "Password for %s", o->user);
        s->password = prompt_secret(prompt);
    }

    /* the security context, in the order given */
    for (i = 0; i < o->n_drivers; i++) {
        driver_opt *d = &o->drivers[i];
        size_t sl = strlen(server);
        int k, attempt, given_user = 0, given_secret = 0;
        char first_error[1024] = "";
        if (strncmp(d->properties, server, sl) != 0 || d->properties[sl] != '=') {
            errorf("--security '%s' is not for this command (it needs %s=...)", d->properties, server);
            return EXIT_USAGE;
        }
        for (k = 0; k < d->n; k++) {
            if (strcmp(d->keys[k], "user") == 0) given_user = 1;
            if (strcmp(d->keys[k], "password") == 0 || strcmp(d->keys[k], "token") == 0) given_secret = 1;
        }
        /* first with the credentials, then (if the driver refuses unknown keys) without */
        for (attempt = 0; attempt < 2; attempt++) {
            buf p = {0};
            int with_creds = attempt == 0 && (o->user || s->password || s->token) && !given_secret;
            buf_str(&p, "{");
            for (k = 0; k < d->n; k++) {
                if (k) buf_str(&p, ", ");
                buf_json(&p, d->keys[k]);
                buf_str(&p, ": ");
                buf_json(&p, d->values[k]);
            }
            if (with_creds) {
                const char *sep = d->n ? ", " : "";
                if (o->user && !given_user) {
                    buf_str(&p, sep), buf_str(&p, "\"user\": "), buf_json(&p, o->user);
                    sep = ", ";
                }
                if (s->token) {
                    buf_str(&p, sep), buf_str(&p, "\"token\": "), buf_json(&p, s->token);
                    sep = ", ";
                } else if (s->password) {
                    buf_str(&p, sep), buf_str(&p, "\"password\": "), buf_json(&p, s->password);
                    sep = ", ";
                }
                if (o->allow_plaintext) buf_str(&p, sep), buf_str(&p, "\"allow_plaintext\": \"true\"");
            }
            buf_str(&p, "}");
            rc = upop_set_security(s->h, d->properties, strcmp(p.data, "{}") == 0 ? "" : p.data);
            buf_free(&p);
            if (rc == UPOP_OK) break;
            if (!(rc == UPOP_E_INIT && with_creds)) {
                if (attempt == 1) { /* the first sentence is the one that matters */
                    errorf("--security '%s' failed: %d %s", d->properties, rc, first_error);
                    return -rc;
                }
                return fail(s, "--security", rc);
            }
            snprintf(first_error, sizeof first_error, "%s", upop_last_error(s->h));
            /* a driver that takes no such credentials: try again with the given params only */
        }
    }
    return 0;
}

static void close_session(session *s)
{
    end_progress(s);
    upop_destroy(s->h);
    s->h = NULL;
    if (s->password) wipe(s->password, strlen(s->password)), free(s->password);
    if (s->token) wipe(s->token, strlen(s->token)), free(s->token);
    s->password = s->token = NULL;
    if (s->config_path[0]) remove(s->config_path), rmdir(s->config_dir);
}

static const char *server_or_env(opts *o, const char *var)
{
    const char *e;
    if (o->server) return o->server;
    e = getenv(var);
    return e && e[0] ? e : NULL;
}

/* ------------------------------------------------------------------ send */

static void join(buf *b, const char *const *items, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        if (i) buf_add(b, "\x1b", 1);
        buf_str(b, items[i]);
    }
    if (b->data == NULL) buf_add(b, "", 0);
}

static int cmd_send(opts *o)
{
    session s = {0};
    const char *server = server_or_env(o, "UPOPMAIL_SMTP_SERVER");
    const char *from = o->from ? o->from : getenv("UPOPMAIL_FROM");
    buf list = {0}, text = {0}, eml = {0};
    char opt[512];
    int rc, i, status, eml_path = 0;

    s.o = o;
    if (server == NULL) return usage_error("send needs --server (or $UPOPMAIL_SMTP_SERVER)%s", "");
    if (o->eml && (o->subject || o->text || o->text_file || o->html_file || o->n_attach || o->n_inl ||
                   o->reply_to || o->priority || o->message_id || o->n_hdr || o->from))
        return usage_error("--eml sends a message as it is: it takes no composing option (%s)",
                           "--from, --subject, --text, --attach, --header...");
    if (!o->eml && o->n_to + o->n_cc + o->n_bcc == 0) return usage_error("send needs --to, --cc or --bcc%s", "");
    if (o->text && o->text_file) return usage_error("give --text or --text-file, not both%s", "");
    if ((status = open_session(&s, "SMTP")) != 0) goto out;
    if (!o->eml && (from == NULL || !from[0])) from = (o->user && strchr(o->user, '@')) ? o->user : NULL;
    if (!o->eml && from == NULL) {
        status = usage_error("send needs --from (or $UPOPMAIL_FROM)%s", "");
        goto out;
    }

    /* compose first: a local mistake is found before connecting */
#define TRY(call, what)                                                                            \
    if ((rc = (call)) != UPOP_OK) {                                                                \
        status = fail(&s, what, rc);                                                               \
        goto out;                                                                                  \
    }
    if (o->envelope_from) TRY(upop_set_envelope_from(s.h, o->envelope_from), "--envelope-from");
    if (o->eml) {
        /* a regular file (also as standard input) streams; a pipe is read into memory first */
        struct stat st;
        int is_stdin = strcmp(o->eml, "-") == 0;
        if (is_stdin && fstat(0, &st) == 0 && S_ISREG(st.st_mode) && lseek(0, 0, SEEK_CUR) == 0) {
            eml_path = 1;
        } else if (is_stdin) {
            if (read_file("-", &eml) != 0) {
                errorf("--eml -: %s", strerror(errno));
                status = 13;
                goto out;
            }
        } else {
            eml_path = 1;
        }
        /* explicit recipients, else the message's own */
        for (i = 0; i < o->n_to + o->n_cc + o->n_bcc; i++) {
            const char *a = i < o->n_to ? o->to[i] : i < o->n_to + o->n_cc ? o->cc[i - o->n_to] : o->bcc[i - o->n_to - o->n_cc];
            if (list.len) buf_add(&list, "\x1b", 1);
            buf_str(&list, a);
        }
        if (list.data == NULL) buf_add(&list, "", 0);
        goto connect;
    }
    TRY(upop_set_from(s.h, from), "--from");
    join(&list, o->to, o->n_to);
    TRY(upop_set_to_list(s.h, list.data), "--to");
    buf_free(&list), join(&list, o->cc, o->n_cc);
    TRY(upop_set_cc_list(s.h, list.data), "--cc");
    buf_free(&list), join(&list, o->bcc, o->n_bcc);
    TRY(upop_set_bcc_list(s.h, list.data), "--bcc");
    if (o->reply_to) TRY(upop_set_reply_to(s.h, o->reply_to), "--reply-to");
    if (o->subject) TRY(upop_set_subject(s.h, o->subject), "--subject");
    if (o->priority) TRY(upop_set_priority(s.h, atoi(o->priority)), "--priority");
    if (o->message_id)
        TRY(upop_set_message_id(s.h, strcmp(o->message_id, "auto") == 0 ? "" : o->message_id), "--message-id");
    if (o->text_file) {
        if (read_file(o->text_file, &text) != 0) {
            errorf("--text-file %s: %s", o->text_file, strerror(errno));
            status = 13;
            goto out;
        }
        TRY(upop_set_message(s.h, text.data, "MIMEType=text/plain"), "--text-file");
    } else if (o->text) {
        TRY(upop_set_message(s.h, o->text, "MIMEType=text/plain"), "--text");
    }
    if (o->html_file) {
        buf_free(&text);
        if (read_file(o->html_file, &text) != 0) {
            errorf("--html-file %s: %s", o->html_file, strerror(errno));
            status = 13;
            goto out;
        }
        TRY(upop_set_message(s.h, text.data, "MIMEType=text/html"), "--html-file");
    }
    for (i = 0; i < o->n_attach; i++) TRY(upop_add_attachment_from_file(s.h, o->attach[i], ""), o->attach[i]);
    for (i = 0; i < o->n_inl; i++) {
        const char *eq = strchr(o->inl[i], '=');
        char options[600];
        if (eq == NULL) {
            status = usage_error("--inline needs CID=FILE, not '%s'", o->inl[i]);
            goto out;
        }
        snprintf(options, sizeof options, "ContentID=%.*s", (int)(eq - o->inl[i]), o->inl[i]);
        TRY(upop_add_inline_from_file(s.h, eq + 1, options), eq + 1);
    }

    for (i = 0; i < o->n_hdr; i++) {
        const char *colon = strchr(o->hdr[i], ':');
        char name[80];
        if (colon == NULL || colon == o->hdr[i] || (size_t)(colon - o->hdr[i]) >= sizeof name) {
            status = usage_error("--header needs 'NAME: VALUE', not '%s'", o->hdr[i]);
            goto out;
        }
        snprintf(name, sizeof name, "%.*s", (int)(colon - o->hdr[i]), o->hdr[i]);
        TRY(upop_add_header(s.h, name, colon[1] == ' ' ? colon + 2 : colon + 1), "--header");
    }

connect:
    if ((rc = upop_connect(s.h, UPOP_SMTP, server, "", "")) != UPOP_OK) {
        status = fail_smtp(&s, "logon", rc);
        goto out;
    }
    snprintf(opt, sizeof opt, "MaxSize=%s\x1bIgnoreRcptError=%s%s%s%s%s%s%s", o->max_size ? o->max_size : "0",
             o->ignore_rcpt ? "True" : "False", o->notify ? "\x1bNotify=" : "", o->notify ? o->notify : "",
             o->ret ? "\x1bRet=" : "", o->ret ? o->ret : "", o->envid ? "\x1b" "EnvId=" : "", o->envid ? o->envid : "");
    if (o->eml && eml_path)
        rc = upop_send_raw_file(s.h, strcmp(o->eml, "-") == 0 ? "/dev/stdin" : o->eml, list.data, opt);
    else if (o->eml)
        rc = upop_send_raw(s.h, eml.data, eml.len, list.data, opt);
    else
        rc = upop_send(s.h, opt);
    end_progress(&s);
    if (rc >= 0 && strstr(upop_last_error(s.h), "DSN not requested") != NULL)
        errorf("warning: %s", upop_last_error(s.h));
    if (rc < 0) {
        status = fail_smtp(&s, "send", rc);
        goto out;
    }
    if (rc > 0) {
        char to[UPOP_DETAILS_MAX / 4], cc[UPOP_DETAILS_MAX / 4], bcc[UPOP_DETAILS_MAX / 4], *p;
        char *lists[3] = {to, cc, bcc};
        to[0] = cc[0] = bcc[0] = '\0';
        upop_get_recipient_details(s.h, to, sizeof to, cc, sizeof cc, bcc, sizeof bcc);
        errorf("sent, but %d recipient(s) refused:", rc);
        for (i = 0; i < 3; i++) {
            for (p = lists[i]; *p; p++)
                if (*p == UPOP_SEP) *p = ' ';
            if (lists[i][0]) fprintf(stderr, "  %s\n", lists[i]);
        }
        status = EXIT_WARNING;
    } else {
        status = 0;
    }
    if (!o->quiet) {
        int32_t code = 0;
        char reply[UPOP_REPLY_MAX] = "";
        upop_get_smtp_response(s.h, &code, reply, sizeof reply);
        printf("sent: %d %s\n", (int)code, reply);
    }
    if ((rc = upop_disconnect(s.h, UPOP_SMTP)) != UPOP_OK) status = fail(&s, "logoff", rc);
#undef TRY
out:
    buf_free(&list);
    buf_free(&text);
    buf_free(&eml);
    close_session(&s);
    return status;
}

/* ------------------------------------------------------------------ POP3 */

/* Reads a long output through the -16 continuation. first != 0: the base call. */
typedef int (*part_fn)(upop *h, char *b, size_t cap, int first, void *ctx);
static int read_all(upop *h, part_fn fn, void *ctx, buf *out)
{
    size_t cap = 1 << 20;
    char *chunk = malloc(cap);
    int rc;
    if (chunk == NULL) return UPOP_E_MEMORY;
    rc = fn(h, chunk, cap, 1, ctx);
    while (rc >= 0 || rc == UPOP_E_MORE) {
        buf_str(out, chunk);
        if (rc != UPOP_E_MORE) break;
        rc = fn(h, chunk, cap, 0, ctx);
    }
    if (out->data == NULL) buf_add(out, "", 0);
    free(chunk);
    return rc;
}

static int list_part(upop *h, char *b, size_t cap, int first, void *ctx)
{
    (void)ctx;
    return first ? upop_list_mail(h, b, cap) : upop_list_mail_x(h, b, cap);
}

typedef struct raw_ctx {
    int32_t id;
    int64_t max;
} raw_ctx;

static int raw_part(upop *h, char *b, size_t cap, int first, void *ctx)
{
    raw_ctx *r = ctx;
    return first ? upop_get_raw_mail(h, r->id, r->max, b, cap) : upop_get_raw_mail_x(h, b, cap);
}

static int pop_logon(session *s)
{
    const char *server = server_or_env(s->o, "UPOPMAIL_POP_SERVER");
    int rc = open_session(s, "POP");
    if (rc != 0) return rc;
    if (server == NULL) return usage_error("%s needs --server (or $UPOPMAIL_POP_SERVER)", s->o->command);
    rc = upop_connect(s->h, UPOP_POP, server, s->o->user ? s->o->user : "", s->password ? s->password : "");
    return rc == UPOP_OK ? 0 : fail(s, "logon", rc);
}

/* One line of the table: with_uidl adds the UIDL column after the ID. */
static void print_row(int with_uidl, const char *id, const char *uidl, const char *size, const char *date,
                      const char *from, const char *subject)
{
    if (with_uidl) printf("%6s %-24s %9s  %-31.31s  %-30.30s  %s\n", id, uidl, size, date, from, subject);
    else printf("%6s %9s  %-31.31s  %-30.30s  %s\n", id, size, date, from, subject);
}

/* ListMail's GOLD list as an array of messages, each item "Name=Value". */
static void print_list(const char *list, int json, int with_uidl)
{
    const char *p = list;
    int first_msg = 1, first_item = 1;
    char id[32] = "", uidl[96] = "", size[32] = "", date[128] = "", from[256] = "", subject[512] = "";
    if (json) printf("[");
    while (*p) {
        const char *e = strchr(p, UPOP_SEP), *eq;
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char item[1024];
        snprintf(item, sizeof item, "%.*s", (int)n, p);
        eq = strchr(item, '=');
        if (eq != NULL) {
            size_t kl = (size_t)(eq - item);
            const char *val = eq + 1;
            if (kl == 3 && strncmp(item, "NMB", 3) == 0) {
                if (!first_msg && !json) print_row(with_uidl, id, uidl, size, date, from, subject);
                if (json) printf("%s\n  {", first_msg ? "" : "},");
                first_msg = 0;
                first_item = 1;
                uidl[0] = '\0'; /* a message may have none */
            }
            if (json) {
                buf b = {0};
                printf("%s\"%.*s\": ", first_item ? "" : ", ", (int)kl, item);
                buf_json(&b, val);
                fputs(b.data, stdout);
                buf_free(&b);
                first_item = 0;
            }
#define KEEP(k, dst) if (kl == strlen(k) && strncmp(item, k, kl) == 0) snprintf(dst, sizeof dst, "%s", val)
            KEEP("ID", id);
            KEEP("SIZE", size);
            KEEP("DATE", date);
            KEEP("FROM", from);
            KEEP("SUBJECT", subject);
            KEEP("UIDL", uidl);
#undef KEEP
        }
        p += n;
        if (*p) p++;
    }
    if (json) printf("%s]\n", first_msg ? "" : "}\n");
    else if (!first_msg) print_row(with_uidl, id, uidl, size, date, from, subject);
}

static int cmd_list(opts *o)
{
    session s = {0};
    buf list = {0};
    int rc, status;
    s.o = o;
    if (o->n_args) return usage_error("list takes no argument ('%s')", o->args[0]);
    if ((status = pop_logon(&s)) != 0) goto out;
    rc = read_all(s.h, list_part, NULL, &list);
    if (rc < 0) {
        status = fail(&s, "list", rc);
        goto out;
    }
    if (!o->json && !o->quiet) print_row(o->uidl, "ID", "UIDL", "SIZE", "DATE", "FROM", "SUBJECT");
    print_list(list.data, o->json, o->uidl);
    if (!o->json && !o->quiet) printf("%d message(s)\n", rc);
    if ((rc = upop_disconnect(s.h, UPOP_POP)) != UPOP_OK) status = fail(&s, "logoff", rc);
out:
    buf_free(&list);
    close_session(&s);
    return status;
}

static int parse_id(const char *a, int32_t *id)
{
    char *end;
    long v = strtol(a, &end, 10);
    if (*a == '\0' || *end != '\0' || v < 1 || v > 0x7fffffffL) return -1;
    *id = (int32_t)v;
    return 0;
}

/* The message number of this session for an argument that is a number or a UIDL (message numbers
 * change between sessions when messages are deleted; a UIDL does not; with --uidl the argument is
 * a UIDL even when it is digits alone). 0 when not found. */
static int32_t resolve_id(session *s, const char *arg, int *status)
{
    int32_t id = 0;
    int rc;
    if (!s->o->uidl && parse_id(arg, &id) == 0) return id;
    if ((rc = upop_find_uidl(s->h, arg, &id)) != UPOP_OK) {
        *status = fail(s, "find UIDL", rc);
        return 0;
    }
    return id;
}

/* get --all: upop_retrieve's chunk callback writes each message into DIR/ID.eml. */
typedef struct all_ctx {
    const char *dir;
    int32_t nr;   /* the message being written, 0 when none */
    FILE *f;
    char path[4096]; /* of f */
    int failed;   /* a file could not be written: stop */
    long count;
    int32_t *done; /* the messages written whole (for --delete) */
    size_t n_done, cap_done;
} all_ctx;

static int all_chunk(void *user, int32_t msg_nr, const char *data, size_t len, int end)
{
    all_ctx *a = user;
    if (a->nr != msg_nr) {
        int fd;
        snprintf(a->path, sizeof a->path, "%s/%ld.eml", a->dir, (long)msg_nr);
        fd = open(a->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || (a->f = fdopen(fd, "wb")) == NULL) {
            errorf("cannot create %s: %s", a->path, strerror(errno));
            if (fd >= 0) close(fd);
            a->failed = 1;
            return 1;
        }
        a->nr = msg_nr;
    }
    if (len && fwrite(data, 1, len, a->f) != len) {
        errorf("cannot write message %ld: %s", (long)msg_nr, strerror(errno));
        a->failed = 1;
        return 1;
    }
    if (end) {
        if (fclose(a->f) != 0) {
            a->f = NULL;
            errorf("cannot write message %ld: %s", (long)msg_nr, strerror(errno));
            a->failed = 1;
            return 1;
        }
        a->f = NULL;
        a->nr = 0;
        a->count++;
        if (a->n_done == a->cap_done) {
            size_t cap = a->cap_done ? 2 * a->cap_done : 256;
            int32_t *p = realloc(a->done, cap * sizeof *p);
            if (!p) {
                errorf("out of memory");
                exit(EXIT_LOCAL);
            }
            a->done = p, a->cap_done = cap;
        }
        a->done[a->n_done++] = msg_nr;
    }
    return 0;
}

static int cmd_get_all(opts *o)
{
    session s = {0};
    all_ctx a = {0};
    int rc, status;
    size_t i;
    struct stat st;
    s.o = o;
    if (o->n_args) return usage_error("get --all takes no ID ('%s')", o->args[0]);
    if (!o->output || stat(o->output, &st) != 0 || !S_ISDIR(st.st_mode))
        return usage_error("get --all needs -o DIR, an existing directory%s", "");
    if (o->raw) return usage_error("get --all writes the messages as stored (raw) already%s", "");
    a.dir = o->output;
    if ((status = pop_logon(&s)) != 0) goto out;
    rc = upop_retrieve(s.h, NULL, 0, o->headers ? UPOP_RETRIEVE_HEADERS : 0, all_chunk, &a);
    end_progress(&s);
    if (a.f) { /* a message cut short: no file that looks whole */
        fclose(a.f);
        unlink(a.path);
    }
    if (a.failed) {
        status = EXIT_LOCAL;
        goto out;
    }
    if (rc < 0) {
        status = fail(&s, "get --all", rc);
        if (rc != UPOP_E_UNSUPPORTED && rc != UPOP_E_RETRIEVAL) goto out; /* -7/-11: the others came */
    }
    if (!o->quiet) fprintf(stderr, "%ld message(s) written to %s\n", a.count, a.dir);
    for (i = 0; o->del && i < a.n_done; i++)
        if ((rc = upop_delete_mail(s.h, a.done[i])) != UPOP_OK) {
            status = fail(&s, "delete", rc);
            goto out;
        }
    if ((rc = upop_disconnect(s.h, UPOP_POP)) != UPOP_OK) status = fail(&s, "logoff", rc);
out:
    free(a.done);
    close_session(&s);
    return status;
}

static int cmd_get(opts *o)
{
    session s = {0};
    buf out = {0};
    int rc, status;
    int32_t id = 0;
    int64_t max = o->max_size ? atoll(o->max_size) : 0;
    FILE *f = stdout;
    s.o = o;
    if (o->all) return cmd_get_all(o);
    if (o->headers) return usage_error("--headers goes with --all%s", "");
    if (o->n_args != 1 || !o->args[0][0])
        return usage_error("get needs one message ID or UIDL (from `upopmail list`)%s", "");
    if ((status = pop_logon(&s)) != 0) goto out;
    if ((id = resolve_id(&s, o->args[0], &status)) == 0) goto out;
    if (o->raw) {
        raw_ctx r = {id, max};
        rc = read_all(s.h, raw_part, &r, &out);
        end_progress(&s);
        if (rc < 0) {
            status = fail(&s, "get", rc);
            goto out;
        }
    } else {
        size_t hc = UPOP_DETAILS_MAX, tc = 1 << 20, ac = UPOP_DETAILS_MAX;
        char *hb = malloc(hc), *tb = malloc(tc), *ab = malloc(ac);
        buf headers = {0}, atts = {0};
        const char *dir = o->att_dir ? o->att_dir : ".";
        char *p;
        if (!hb || !tb || !ab) {
            errorf("out of memory");
            exit(EXIT_LOCAL);
        }
        rc = upop_get_mail(s.h, id, dir, max, hb, hc, tb, tc, ab, ac);
        while (rc >= 0 || rc == UPOP_E_MORE) {
            buf_str(&headers, hb), buf_str(&out, tb), buf_str(&atts, ab);
            if (rc != UPOP_E_MORE) break;
            rc = upop_get_mail_x(s.h, hb, hc, tb, tc, ab, ac);
        }
        free(hb), free(tb), free(ab);
        end_progress(&s);
        if (rc < 0) {
            buf_free(&headers), buf_free(&atts);
            status = fail(&s, "get", rc);
            goto out;
        }
        /* "Name: value" lines, a blank line, then the text */
        {
            buf whole = {0};
            if (headers.data)
                for (p = headers.data; *p; p++)
                    if (*p == UPOP_SEP) *p = '\n';
            if (headers.data) {
                char *line = headers.data, *next;
                for (; line && *line; line = next) {
                    char *eq;
                    next = strchr(line, '\n');
                    if (next) *next++ = '\0';
                    eq = strchr(line, '=');
                    if (eq) *eq = '\0', buf_str(&whole, line), buf_str(&whole, ": "), buf_str(&whole, eq + 1);
                    else buf_str(&whole, line);
                    buf_str(&whole, "\n");
                }
            }
            buf_str(&whole, "\n");
            if (out.data) buf_str(&whole, out.data);
            buf_free(&out);
            out = whole;
        }
        if (atts.data && atts.data[0] && !o->quiet) {
            for (p = atts.data; *p; p++)
                if (*p == UPOP_SEP) *p = '\n';
            fprintf(stderr, "parts written to %s:\n%s\n", dir, atts.data);
        }
        if (rc > 0) {
            errorf("warning %d: %s", rc, rc == 1 ? "an attachment could not be decoded"
                                         : rc == 2 ? "an attachment could not be written"
                                                   : "an attachment had a duplicate file name");
            status = EXIT_WARNING;
        }
        buf_free(&headers), buf_free(&atts);
    }
    if (o->output && (f = fopen(o->output, "wb")) == NULL) {
        errorf("cannot write %s: %s", o->output, strerror(errno));
        status = EXIT_LOCAL;
        goto out;
    }
    if (fwrite(out.data, 1, out.len, f) != out.len || (f != stdout ? fclose(f) : fflush(f)) != 0) {
        errorf("cannot write the message: %s", strerror(errno));
        status = EXIT_LOCAL;
        goto out;
    }
    if (o->del && (rc = upop_delete_mail(s.h, id)) != UPOP_OK) {
        status = fail(&s, "delete", rc);
        goto out;
    }
    if ((rc = upop_disconnect(s.h, UPOP_POP)) != UPOP_OK) status = fail(&s, "logoff", rc);
out:
    buf_free(&out);
    close_session(&s);
    return status;
}

static int cmd_delete(opts *o)
{
    session s = {0};
    int rc, status, i;
    int32_t id = 0;
    s.o = o;
    if (o->n_args == 0) return usage_error("delete needs at least one message ID or UIDL%s", "");
    if ((status = pop_logon(&s)) != 0) goto out;
    for (i = 0; i < o->n_args; i++) {
        if ((id = resolve_id(&s, o->args[i], &status)) == 0) goto out;
        if ((rc = upop_delete_mail(s.h, id)) != UPOP_OK) {
            status = fail(&s, o->args[i], rc); /* the session is dropped: nothing is deleted */
            goto out;
        }
    }
    if ((rc = upop_disconnect(s.h, UPOP_POP)) != UPOP_OK) {
        status = fail(&s, "logoff (the deletions may not be committed)", rc);
        goto out;
    }
    if (!o->quiet) printf("deleted %d message(s)\n", o->n_args);
out:
    close_session(&s);
    return status;
}

/* ------------------------------------------------------------------ drivers */

/* A tiny reader for the registry's JSON: enough to show it as a table. */
static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    return p;
}

/* Reads a JSON string at p into out (escapes \" \\ \/ kept simple); returns the end. */
static const char *json_str(const char *p, buf *out)
{
    if (*p != '"') return NULL;
    for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            if (*p == 'n') buf_str(out, "\n");
            else if (*p == 'u') { buf_str(out, "?"); p += 4; }
            else buf_add(out, p, 1);
        } else {
            buf_add(out, p, 1);
        }
    }
    if (out->data == NULL) buf_add(out, "", 0);
    return *p ? p + 1 : NULL;
}

/* Prints a value (string, bool, array of strings) compactly; returns the end. */
static const char *json_value(const char *p, buf *out)
{
    p = skip_ws(p);
    if (*p == '"') return json_str(p, out);
    if (*p == '[') {
        int first = 1;
        p = skip_ws(p + 1);
        while (p && *p && *p != ']') {
            buf item = {0};
            if (!first) buf_str(out, ",");
            p = json_value(p, &item);
            if (item.data) buf_str(out, item.data);
            buf_free(&item);
            first = 0;
            if (!p) return NULL;
            p = skip_ws(p);
            if (*p == ',') p = skip_ws(p + 1);
        }
        if (out->data == NULL) buf_add(out, "", 0);
        return p && *p ? p + 1 : NULL;
    }
    {
        const char *s = p;
        while (*p && *p != ',' && *p != '}' && *p != ']') p++;
        buf_add(out, s, (size_t)(p - s));
        return p;
    }
}

/* Calls fn for each object of the array named key: fn gets (name, value) pairs. */
static void each_object(const char *json, const char *key, void (*fn)(buf *names, buf *values, int n))
{
    char pat[64];
    const char *p;
    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = strstr(json, pat);
    if (p == NULL) return;
    p = strchr(p, '[');
    if (p == NULL) return;
    p = skip_ws(p + 1);
    while (p && *p == '{') {
        buf names[16], values[16];
        int n = 0, i;
        memset(names, 0, sizeof names), memset(values, 0, sizeof values);
        p = skip_ws(p + 1);
        while (p && *p == '"') {
            buf name = {0}, value = {0};
            p = json_str(p, &name);
            if (!p) break;
            p = skip_ws(p);
            if (*p == ':') p++;
            p = json_value(p, &value);
            if (n < 16) names[n] = name, values[n] = value, n++;
            else buf_free(&name), buf_free(&value);
            if (!p) break;
            p = skip_ws(p);
            if (*p == ',') p = skip_ws(p + 1);
        }
        fn(names, values, n);
        for (i = 0; i < n; i++) buf_free(&names[i]), buf_free(&values[i]);
        if (!p || *p != '}') return;
        p = skip_ws(p + 1);
        if (*p == ',') p = skip_ws(p + 1);
    }
}

static const char *field(buf *names, buf *values, int n, const char *key)
{
    int i;
    for (i = 0; i < n; i++)
        if (strcmp(names[i].data, key) == 0) return values[i].data ? values[i].data : "";
    return "";
}

static void print_driver(buf *names, buf *values, int n)
{
    printf("%-18s %-34s %-9s %-6s %s\n", field(names, values, n, "name"), field(names, values, n, "aliases"),
           field(names, values, n, "servers"), strcmp(field(names, values, n, "loaded"), "true") == 0 ? "yes" : "no",
           field(names, values, n, "library"));
}

static void print_rejected(buf *names, buf *values, int n)
{
    printf("  %s: %s\n", field(names, values, n, "file"), field(names, values, n, "reason"));
}

static int cmd_drivers(opts *o)
{
    char *json;
    int i;
    if (o->n_args) return usage_error("drivers takes no argument ('%s')", o->args[0]);
    for (i = 0; i < o->n_paths; i++)
        if (upop_registry_add_path(o->paths[i]) != UPOP_OK) {
            errorf("--path: %s", upop_last_error(NULL));
            return 10;
        }
    json = upop_drivers_json();
    if (json == NULL) {
        errorf("out of memory");
        return 18;
    }
    if (o->json) {
        printf("%s\n", json);
    } else {
        const char *p = strstr(json, "\"rejected\"");
        printf("%-18s %-34s %-9s %-6s %s\n", "DRIVER", "ALIASES", "SERVERS", "LOADED", "LIBRARY");
        each_object(json, "drivers", print_driver);
        if (p && strchr(p, '{') && strchr(p, '{') < strchr(p, ']')) {
            printf("\nrejected plugins:\n");
            each_object(json, "rejected", print_rejected);
        }
        {
            buf paths = {0};
            p = strstr(json, "\"paths\"");
            if (p && (p = strchr(p, ':')) != NULL && json_value(p + 1, &paths) && paths.data)
                printf("\nsearch path: %s\n", paths.data);
            buf_free(&paths);
        }
    }
    upop_free(json);
    return 0;
}

/* ------------------------------------------------------------------ main */

int main(int argc, char **argv)
{
    opts o;
    int rc;
    memset(&o, 0, sizeof o);
    o.progress = -1;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(main_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("upopmail %s (library %s, ABI %d)\n", UPOPMAIL_CLI_VERSION, upop_version(), upop_abi_version());
        return 0;
    }
    if (strcmp(argv[1], "help") == 0) {
        if (argc > 2 && strcmp(argv[2], "send") && strcmp(argv[2], "list") && strcmp(argv[2], "get") &&
            strcmp(argv[2], "delete") && strcmp(argv[2], "drivers"))
            return usage_error("no command '%s'", argv[2]);
        print_help(argc > 2 ? argv[2] : NULL);
        return 0;
    }
    o.command = argv[1];
    {
        static char hint[32];
        snprintf(hint, sizeof hint, "%.20s ", argv[1]);
        cur_command = hint;
    }
    if (strcmp(o.command, "send") && strcmp(o.command, "list") && strcmp(o.command, "get") &&
        strcmp(o.command, "delete") && strcmp(o.command, "drivers")) {
        errorf("no command '%s'", o.command);
        fputs(main_help, stderr);
        return EXIT_USAGE;
    }
    rc = parse(argc - 2, argv + 2, &o);
    if (rc == -1) return 0;
    if (rc != 0) return rc;
    if (upop_abi_version() != UPOP_ABI_VERSION) {
        errorf("the library speaks ABI %d, this program was built for ABI %d", upop_abi_version(), UPOP_ABI_VERSION);
        return EXIT_LOCAL;
    }
    if (strcmp(o.command, "send") == 0) return cmd_send(&o);
    if (strcmp(o.command, "list") == 0) return cmd_list(&o);
    if (strcmp(o.command, "get") == 0) return cmd_get(&o);
    if (strcmp(o.command, "delete") == 0) return cmd_delete(&o);
    return cmd_drivers(&o);
}

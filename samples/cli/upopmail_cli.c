/*
 * upopmail -- the command-line program of the upopmail component, written against the C ABI
 * (upopmail.h) only. `upopmail --help` and `upopmail COMMAND --help` describe it.
 */
#define _GNU_SOURCE /* getopt_long, strcasestr */
#include <upopmail.h>

#include "cli_files.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

/* Exit statuses, one per stage (documented in exit_help and upopmail(1)). */
enum {
    EXIT_LOCAL = 1,      /* a local file could not be read or written; out of memory */
    EXIT_CONNECT = 2,    /* host not found, connection refused or lost, network error */
    EXIT_TLS = 3,        /* TLS: handshake, certificate, no STARTTLS, credentials without TLS */
    EXIT_LOGON = 4,      /* the server refused the credentials, or there is no password */
    EXIT_RCPT = 5,       /* the server refused the recipients: nothing was sent */
    EXIT_SIZE = 6,       /* larger than --max-size or the server's limit; quota exceeded */
    EXIT_TIMEOUT = 7,    /* a network step took longer than --timeout */
    EXIT_CANCELLED = 8,  /* interrupted (SIGINT, SIGTERM, SIGHUP) */
    EXIT_NOMSG = 9,      /* no such message number or UIDL in the mailbox */
    EXIT_PROTOCOL = 10,  /* the server refused a command or broke the protocol; other failures */
    EXIT_DRIVER = 11,    /* a security driver is missing, refused its parameters, or the server
                            lacks what a mandatory driver needs */
    EXIT_WARNING = 20,   /* done, with a warning (some recipients refused, a part not written) */
    EXIT_USAGE = 64      /* wrong usage: an unknown option, a missing value, a bad config file */
};
#define PROGRESS_AUTO_BYTES (4LL * 1024 * 1024) /* on a terminal the meter shows from this size */
#define PROGRESS_REDRAW_MS 200                   /* and is redrawn at most this often */

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
    "`upopmail COMMAND --help` describes a command and its options, and the exit statuses.\n"
    "`upopmail --version` prints the version of the program and of the library.\n";

static const char *common_help =
    "Connection and security:\n"
    "  -s, --server CONN      where to connect: HOST[:PORT], smtp://HOST[:PORT], smtps://HOST[:PORT],\n"
    "                         pop3://HOST[:PORT], pop3s://HOST[:PORT], or the component's form\n"
    "                         [TLS:]HOST[+PORT][:PROFILE]. Default: $UPOPMAIL_SMTP_SERVER for send,\n"
    "                         $UPOPMAIL_POP_SERVER for list, get and delete, else the profile's.\n"
    "  --starttls             the common secure stack: STARTTLS (STLS for POP3), then the\n"
    "                         logon (send: AUTH PLAIN, or --auth, when there is a user)\n"
    "  --tls                  the same over implicit TLS (smtps/pop3s; ports 465 and 995)\n"
    "  --auth MECH            the SASL mechanism of the logon: PLAIN, LOGIN, CRAM-MD5,\n"
    "                         SCRAM-SHA-256, XOAUTH2, NTLM, GSSAPI, ... (APOP for POP3)\n"
    "  --security 'SERVER=DRIVER[;USE=OPT]'\n"
    "                         append a security driver to the context yourself, e.g.\n"
    "                         SMTP=STARTTLS, 'SMTP=AUTH LOGIN', POP=STARTTLS; repeat it: the\n"
    "                         drivers run in the order given. `upopmail drivers` lists them.\n"
    "  -p, --param KEY=VALUE  a parameter of the driver of the preceding --security (repeat);\n"
    "                         never a password or token: those come from the sources below\n"
    "  -P, --profile NAME     take server, port, security, auth, user, from, ca and timeout from\n"
    "                         the section [NAME] of ~/.config/upopmail/config ($UPOPMAIL_PROFILE;\n"
    "                         default: the section [default] when there is one); options given\n"
    "                         on the command line win; `smtp.KEY`/`pop.KEY` apply to one protocol\n"
    "  -u, --user NAME        user name ($UPOPMAIL_USER; else the profile's or ~/.netrc's login)\n"
    "Credentials are never taken from the command line. The password is, in this order:\n"
    "  --password-file FILE   the first line of FILE ('-': standard input)\n"
    "  --password-env VAR     the variable VAR (default UPOPMAIL_PASSWORD)\n"
    "  --netrc-file FILE      the `machine HOST login USER password PASS` entry of FILE\n"
    "                         (default $NETRC, else ~/.netrc; it must be yours and mode 600)\n"
    "                         then a question on the terminal (no echo); with no terminal the\n"
    "                         program stops (exit 4) instead of logging on without a password.\n"
    "  --token-file FILE      an OAuth 2 token for XOAUTH2/OAUTHBEARER ($UPOPMAIL_TOKEN)\n"
    "Other options:\n"
    "  --ca FILE              trust this CA certificate (PEM) instead of the system store\n"
    "  --config FILE          TLS configuration (JSON; default $UPOPMAIL_CONFIG)\n"
    "  --timeout SECONDS      deadline of every network step (default 60)\n"
    "  --allow-plaintext      allow credentials on a connection without TLS (not recommended)\n"
    "  --trace                print the protocol trace to standard error (secrets redacted)\n"
    "  --progress             show the progress meter (bytes, rate, ETA) on standard error even\n"
    "                         when it is not a terminal, for any size (default: on a terminal,\n"
    "                         for transfers of 4 MB or more)\n"
    "  --silent               no progress meter (also --no-progress)\n"
    "  -q, --quiet            print nothing but errors and the requested output (no meter)\n"
    "  -h, --help             this help\n"
    "\n";

static const char *exit_help =
    "Exit status:\n"
    "   0  success\n"
    "   1  a local file could not be read or written (attachment, --eml, --output, password\n"
    "      file); out of memory\n"
    "   2  connect: host not found, connection refused or lost, network error\n"
    "   3  TLS: handshake or certificate failed, the server offers no STARTTLS, or the password\n"
    "      would go without TLS\n"
    "   4  logon: the server refused the credentials, or there is no password and no terminal\n"
    "   5  the server refused the recipients: nothing was sent\n"
    "   6  size: larger than --max-size or the server's limit, or the quota is exceeded\n"
    "   7  timeout: a network step took longer than --timeout\n"
    "   8  cancelled: interrupted by SIGINT, SIGTERM or SIGHUP\n"
    "   9  no such message number or UIDL\n"
    "  10  the server refused a command or broke the protocol; other failures\n"
    "  11  a security driver is missing or refused its parameters, or the server lacks what a\n"
    "      mandatory driver needs\n"
    "  20  done, with a warning: some recipients refused (--ignore-rcpt-errors), a part not\n"
    "      written\n"
    "  64  wrong usage: an unknown option, a missing value, a bad profile file\n";

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

/* Reads what is left of f into b (at most max bytes, 0: no limit). Returns 0, -1 (errno set)
 * or -2 (larger than max). */
static int slurp(FILE *f, buf *b, size_t max)
{
    char chunk[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        buf_add(b, chunk, n);
        if (max && b->len > max) {
            rc = -2;
            break;
        }
    }
    if (b->data == NULL) buf_add(b, "", 0);
    wipe(chunk, sizeof chunk);
    return rc == 0 && ferror(f) ? -1 : rc;
}

/* Reads a whole file ('-': stdin) into b. Returns 0 or -1 (errno set). */
static int read_file(const char *path, buf *b)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    int rc;
    if (f == NULL) return -1;
    rc = slurp(f, b, 0);
    if (f != stdin) fclose(f);
    return rc;
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
    const char *timeout, *profile, *netrc_file, *auth;
    int security_mode; /* 0 as given, 's' --starttls, 't' --tls, 'n' none (a profile's) */
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
    const char *text = NULL;
    if (command == NULL) {
        fputs(main_help, stdout);
        return;
    }
    if (strcmp(command, "send") == 0) text = send_help;
    else if (strcmp(command, "list") == 0) text = list_help;
    else if (strcmp(command, "get") == 0) text = get_help;
    else if (strcmp(command, "delete") == 0) text = delete_help;
    else if (strcmp(command, "drivers") == 0) text = drivers_help;
    if (text == NULL) return;
    fputs(text, stdout);
    if (text != drivers_help) fputs(common_help, stdout);
    fputs(exit_help, stdout);
}

static int push(const char **list, int *n, const char *v, const char *what)
{
    if (*n >= MAX_ITEMS) return usage_error("too many %s options", what);
    list[(*n)++] = v;
    return 0;
}

/* The commands an option belongs to. */
enum { C_SEND = 1, C_LIST = 2, C_GET = 4, C_DELETE = 8, C_DRIVERS = 16 };
#define C_POP (C_LIST | C_GET | C_DELETE)
#define C_NET (C_SEND | C_POP)
#define C_ALL (C_NET | C_DRIVERS)

enum {
    OPT_SECURITY = 256, OPT_PASSWORD_FILE, OPT_PASSWORD_ENV, OPT_TOKEN_FILE, OPT_CA, OPT_CONFIG, OPT_TIMEOUT,
    OPT_ALLOW_PLAINTEXT, OPT_TRACE, OPT_PROGRESS, OPT_SILENT, OPT_JSON, OPT_RAW, OPT_DELETE, OPT_ALL, OPT_HEADERS,
    OPT_UIDL, OPT_IGNORE_RCPT, OPT_PASSWORD, OPT_CC, OPT_BCC, OPT_REPLY_TO, OPT_SUBJECT, OPT_TEXT, OPT_TEXT_FILE,
    OPT_HTML_FILE, OPT_INLINE, OPT_PRIORITY, OPT_MESSAGE_ID, OPT_HEADER, OPT_EML, OPT_ENVELOPE_FROM, OPT_NOTIFY,
    OPT_RET, OPT_ENVID, OPT_MAX_SIZE, OPT_ATTACHMENTS, OPT_PATH, OPT_STARTTLS, OPT_TLS, OPT_AUTH, OPT_NETRC_FILE
};

typedef struct optdef {
    const char *name;
    int has_arg, val, commands;
} optdef;

static const optdef optdefs[] = {
    {"help", no_argument, 'h', C_ALL},
    {"server", required_argument, 's', C_NET},
    {"security", required_argument, OPT_SECURITY, C_NET},
    {"param", required_argument, 'p', C_NET},
    {"starttls", no_argument, OPT_STARTTLS, C_NET},
    {"tls", no_argument, OPT_TLS, C_NET},
    {"auth", required_argument, OPT_AUTH, C_NET},
    {"profile", required_argument, 'P', C_NET},
    {"user", required_argument, 'u', C_NET},
    {"password", optional_argument, OPT_PASSWORD, C_NET},
    {"password-file", required_argument, OPT_PASSWORD_FILE, C_NET},
    {"password-env", required_argument, OPT_PASSWORD_ENV, C_NET},
    {"netrc-file", required_argument, OPT_NETRC_FILE, C_NET},
    {"token-file", required_argument, OPT_TOKEN_FILE, C_NET},
    {"ca", required_argument, OPT_CA, C_NET},
    {"config", required_argument, OPT_CONFIG, C_NET},
    {"timeout", required_argument, OPT_TIMEOUT, C_NET},
    {"allow-plaintext", no_argument, OPT_ALLOW_PLAINTEXT, C_NET},
    {"trace", no_argument, OPT_TRACE, C_NET},
    {"progress", no_argument, OPT_PROGRESS, C_NET},
    {"silent", no_argument, OPT_SILENT, C_NET},
    {"no-progress", no_argument, OPT_SILENT, C_NET},
    {"quiet", no_argument, 'q', C_NET},
    {"json", no_argument, OPT_JSON, C_LIST | C_DRIVERS},
    {"raw", no_argument, OPT_RAW, C_GET},
    {"delete", no_argument, OPT_DELETE, C_GET},
    {"all", no_argument, OPT_ALL, C_GET},
    {"headers", no_argument, OPT_HEADERS, C_GET},
    {"uidl", no_argument, OPT_UIDL, C_POP},
    {"output", required_argument, 'o', C_GET},
    {"attachments", required_argument, OPT_ATTACHMENTS, C_GET},
    {"max-size", required_argument, OPT_MAX_SIZE, C_SEND | C_GET},
    {"ignore-rcpt-errors", no_argument, OPT_IGNORE_RCPT, C_SEND},
    {"from", required_argument, 'f', C_SEND},
    {"to", required_argument, 't', C_SEND},
    {"cc", required_argument, OPT_CC, C_SEND},
    {"bcc", required_argument, OPT_BCC, C_SEND},
    {"reply-to", required_argument, OPT_REPLY_TO, C_SEND},
    {"subject", required_argument, OPT_SUBJECT, C_SEND},
    {"text", required_argument, OPT_TEXT, C_SEND},
    {"text-file", required_argument, OPT_TEXT_FILE, C_SEND},
    {"html-file", required_argument, OPT_HTML_FILE, C_SEND},
    {"attach", required_argument, 'a', C_SEND},
    {"inline", required_argument, OPT_INLINE, C_SEND},
    {"priority", required_argument, OPT_PRIORITY, C_SEND},
    {"message-id", required_argument, OPT_MESSAGE_ID, C_SEND},
    {"header", required_argument, OPT_HEADER, C_SEND},
    {"eml", required_argument, OPT_EML, C_SEND},
    {"envelope-from", required_argument, OPT_ENVELOPE_FROM, C_SEND},
    {"notify", required_argument, OPT_NOTIFY, C_SEND},
    {"ret", required_argument, OPT_RET, C_SEND},
    {"envid", required_argument, OPT_ENVID, C_SEND},
    {"path", required_argument, OPT_PATH, C_DRIVERS},
};
#define N_OPTDEFS (sizeof optdefs / sizeof optdefs[0])
static const char short_opts[] = ":hs:p:P:u:qo:f:t:a:"; /* ':' first: a missing value is ':' */

static int command_bit(const char *command)
{
    static const char *const names[] = {"send", "list", "get", "delete", "drivers"};
    int i;
    for (i = 0; i < 5; i++)
        if (strcmp(command, names[i]) == 0) return 1 << i;
    return 0;
}

/* The long name of an option value ("--from"), for messages. */
static const char *option_name(int val, char *out, size_t cap)
{
    size_t i;
    for (i = 0; i < N_OPTDEFS; i++)
        if (optdefs[i].val == val) {
            snprintf(out, cap, "--%s", optdefs[i].name);
            return out;
        }
    snprintf(out, cap, "-%c", val);
    return out;
}

/* Parses argv (argv[0] is the command) with getopt_long. Returns 0, or an exit status (help
 * printed: -1). */
static int parse(int argc, char **argv, opts *o)
{
    struct option longopts[N_OPTDEFS + 1];
    const int cmd = command_bit(o->command);
    size_t k;
    int c;
    for (k = 0; k < N_OPTDEFS; k++) {
        longopts[k].name = optdefs[k].name;
        longopts[k].has_arg = optdefs[k].has_arg;
        longopts[k].flag = NULL;
        longopts[k].val = optdefs[k].val;
    }
    memset(&longopts[N_OPTDEFS], 0, sizeof longopts[N_OPTDEFS]);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, short_opts, longopts, NULL)) != -1) {
        const char *v = optarg;
        char name[64];
        if (c == '?') {
            const char *arg = argv[optind - 1];
            if (strncmp(arg, "--", 2) == 0) {
                snprintf(name, sizeof name, "%s", arg);
                name[strcspn(name, "=")] = '\0';
                /* a known option given a value it does not take, an ambiguous prefix, or unknown */
                if (optopt) return usage_error("option '%s' takes no value", name);
                {
                    char msg[512] = "";
                    size_t len = strlen(name + 2);
                    for (k = 0; k < N_OPTDEFS; k++)
                        if (len && strncmp(optdefs[k].name, name + 2, len) == 0 && strlen(msg) + 40 < sizeof msg)
                            snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s--%s", msg[0] ? ", " : "",
                                     optdefs[k].name);
                    if (msg[0]) {
                        char text[640];
                        snprintf(text, sizeof text, "ambiguous option '%s': %s?", name, msg);
                        return usage_error("%s", text);
                    }
                }
                return usage_error("unknown option '%s'", name);
            }
            snprintf(name, sizeof name, "-%c", optopt);
            return usage_error("unknown option '%s'", name);
        }
        if (c == ':') {
            if (optopt) option_name(optopt, name, sizeof name);
            else snprintf(name, sizeof name, "%s", argv[optind - 1]);
            return usage_error("option '%s' needs a value", name);
        }
        for (k = 0; k < N_OPTDEFS && optdefs[k].val != c; k++) {
        }
        option_name(c, name, sizeof name);
        if (k < N_OPTDEFS && !(optdefs[k].commands & cmd)) {
            char msg[160];
            snprintf(msg, sizeof msg, "option '%s' does not go with %s", name, o->command);
            return usage_error("%s", msg);
        }
        switch (c) {
        case 'h': print_help(o->command); return -1;
        case OPT_PASSWORD:
            errorf("--password is not accepted: the command line is visible to other users. Use "
                   "--password-file, --password-env, $UPOPMAIL_PASSWORD or ~/.netrc, or type it when asked.");
            return EXIT_USAGE;
        case OPT_TRACE: o->trace = 1; break;
        case OPT_PROGRESS: o->progress = 1; break;
        case OPT_SILENT: o->progress = 0; break;
        case 'q': o->quiet = 1; break;
        case OPT_ALLOW_PLAINTEXT: o->allow_plaintext = 1; break;
        case OPT_JSON: o->json = 1; break;
        case OPT_RAW: o->raw = 1; break;
        case OPT_DELETE: o->del = 1; break;
        case OPT_ALL: o->all = 1; break;
        case OPT_HEADERS: o->headers = 1; break;
        case OPT_UIDL: o->uidl = 1; break;
        case OPT_IGNORE_RCPT: o->ignore_rcpt = 1; break;
        case OPT_STARTTLS:
        case OPT_TLS:
            if (o->security_mode && o->security_mode != (c == OPT_TLS ? 't' : 's'))
                return usage_error("give --starttls or --tls, not both%s", "");
            o->security_mode = c == OPT_TLS ? 't' : 's';
            break;
        case OPT_AUTH: o->auth = v; break;
        case 'P': o->profile = v; break;
        case OPT_NETRC_FILE: o->netrc_file = v; break;
        case 's': o->server = v; break;
        case OPT_SECURITY:
            if (o->n_drivers >= MAX_DRIVERS) return usage_error("too many %s options", name);
            o->drivers[o->n_drivers++].properties = v;
            break;
        case 'p': {
            driver_opt *d;
            const char *e = strchr(v, '=');
            char key[64];
            if (o->n_drivers == 0) return usage_error("%s must follow the --security it belongs to", "--param");
            if (e == NULL || e == v) return usage_error("--param needs KEY=VALUE, not '%s'", v);
            snprintf(key, sizeof key, "%.*s", (int)(e - v), v);
            if (strcasecmp(key, "password") == 0 || strcasecmp(key, "token") == 0 || strcasecmp(key, "secret") == 0)
                return usage_error("--param %s=... is not accepted: the command line is visible to other users; "
                                   "use --password-file, --password-env, --token-file or ~/.netrc", key);
            d = &o->drivers[o->n_drivers - 1];
            if (d->n >= MAX_PARAMS) return usage_error("too many %s options", name);
            d->keys[d->n] = strdup(key);
            d->values[d->n++] = e + 1;
            break;
        }
        case 'u': o->user = v; break;
        case OPT_PASSWORD_FILE: o->password_file = v; break;
        case OPT_PASSWORD_ENV: o->password_env = v; break;
        case OPT_TOKEN_FILE: o->token_file = v; break;
        case OPT_CA: o->ca = v; break;
        case OPT_CONFIG: o->config = v; break;
        case OPT_TIMEOUT: o->timeout = v; break;
        case 'f': o->from = v; break;
        case 't': if (push(o->to, &o->n_to, v, name)) return EXIT_USAGE; break;
        case OPT_CC: if (push(o->cc, &o->n_cc, v, name)) return EXIT_USAGE; break;
        case OPT_BCC: if (push(o->bcc, &o->n_bcc, v, name)) return EXIT_USAGE; break;
        case OPT_REPLY_TO: o->reply_to = v; break;
        case OPT_SUBJECT: o->subject = v; break;
        case OPT_TEXT: o->text = v; break;
        case OPT_TEXT_FILE: o->text_file = v; break;
        case OPT_HTML_FILE: o->html_file = v; break;
        case 'a': if (push(o->attach, &o->n_attach, v, name)) return EXIT_USAGE; break;
        case OPT_INLINE: if (push(o->inl, &o->n_inl, v, name)) return EXIT_USAGE; break;
        case OPT_PRIORITY: o->priority = v; break;
        case OPT_MESSAGE_ID: o->message_id = v; break;
        case OPT_HEADER: if (push(o->hdr, &o->n_hdr, v, name)) return EXIT_USAGE; break;
        case OPT_EML: o->eml = v; break;
        case OPT_ENVELOPE_FROM: o->envelope_from = v; break;
        case OPT_NOTIFY: o->notify = v; break;
        case OPT_RET: o->ret = v; break;
        case OPT_ENVID: o->envid = v; break;
        case OPT_MAX_SIZE: o->max_size = v; break;
        case 'o': o->output = v; break;
        case OPT_ATTACHMENTS: o->att_dir = v; break;
        case OPT_PATH: if (push(o->paths, &o->n_paths, v, name)) return EXIT_USAGE; break;
        default: return usage_error("unknown option '%s'", name);
        }
    }
    for (; optind < argc; optind++)
        if (push(o->args, &o->n_args, argv[optind], "argument")) return EXIT_USAGE;
    return 0;
}

/* ------------------------------------------------------------------ profiles, ~/.netrc */

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (d == NULL) {
        errorf("out of memory");
        exit(EXIT_LOCAL);
    }
    return d;
}

/* "~/x" with $HOME; else a copy. */
static char *expand_home(const char *path)
{
    const char *home = getenv("HOME");
    if (path[0] == '~' && path[1] == '/' && home) {
        char *r = malloc(strlen(home) + strlen(path));
        if (r == NULL) exit(EXIT_LOCAL);
        sprintf(r, "%s%s", home, path + 1);
        return r;
    }
    return xstrdup(path);
}

/* The profile file: $XDG_CONFIG_HOME/upopmail/config, else ~/.config/upopmail/config. */
static char *profile_path(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char path[4096];
    if (xdg && xdg[0] == '/') snprintf(path, sizeof path, "%s/upopmail/config", xdg);
    else if (home) snprintf(path, sizeof path, "%s/.config/upopmail/config", home);
    else return NULL;
    return xstrdup(path);
}

/* Applies the profile's values that the command line and the environment left unset (the
 * file's reader is cli_files.c). Returns 0 or an exit status. */
static int apply_profile(opts *o)
{
    /* static: what the options point to stays reachable until exit */
    static cli_profile prof;
    const char *name = o->profile ? o->profile : getenv("UPOPMAIL_PROFILE");
    const char *proto = strcmp(o->command, "send") == 0 ? "smtp" : "pop";
    char *path = profile_path(), err[512];
    char **v = prof.values;
    buf text = {0};
    FILE *f;
    int explicit_name = name != NULL && name[0] != '\0', rc;
    if (!explicit_name) name = "default";
    f = path ? fopen(path, "r") : NULL;
    if (f == NULL) {
        if (explicit_name) {
            errorf("profile '%s': cannot read %s: %s", name, path ? path : "~/.config/upopmail/config",
                   path ? strerror(errno) : "HOME is not set");
            free(path);
            return EXIT_USAGE;
        }
        free(path);
        return 0;
    }
    rc = slurp(f, &text, CLI_FILE_MAX);
    fclose(f);
    if (rc != 0) {
        errorf("cannot read %s: %s", path, rc == -2 ? "larger than 1 MiB" : strerror(errno));
        free(path), buf_free(&text);
        return EXIT_LOCAL;
    }
    rc = cli_profile_parse(text.data, text.len, name, proto, &prof, err, sizeof err);
    buf_free(&text);
    if (rc == -2) {
        errorf("out of memory");
        exit(EXIT_LOCAL);
    }
    if (rc != 0) {
        errorf("%s:%s", path, err);
        free(path);
        return EXIT_USAGE;
    }
    if (explicit_name && !prof.found) {
        errorf("%s has no profile [%s]", path, name);
        free(path);
        return EXIT_USAGE;
    }
    free(path);
    if (v[CLI_SERVER] && !o->server &&
        !getenv(strcmp(proto, "smtp") == 0 ? "UPOPMAIL_SMTP_SERVER" : "UPOPMAIL_POP_SERVER")) {
        if (v[CLI_PORT]) {
            static char *server;
            server = malloc(strlen(v[CLI_SERVER]) + strlen(v[CLI_PORT]) + 2);
            if (server == NULL) exit(EXIT_LOCAL);
            sprintf(server, "%s:%s", v[CLI_SERVER], v[CLI_PORT]);
            o->server = server;
        } else {
            o->server = v[CLI_SERVER];
        }
    }
    if (v[CLI_SECURITY] && !o->security_mode) {
        if (strcasecmp(v[CLI_SECURITY], "starttls") == 0) o->security_mode = 's';
        else if (strcasecmp(v[CLI_SECURITY], "tls") == 0) o->security_mode = 't';
        else if (strcasecmp(v[CLI_SECURITY], "none") == 0) o->security_mode = 'n';
        else {
            errorf("profile [%s]: security must be starttls, tls or none, not '%s'", name, v[CLI_SECURITY]);
            return EXIT_USAGE;
        }
    }
    if (v[CLI_AUTH] && !o->auth) o->auth = v[CLI_AUTH];
    if (v[CLI_USER] && !o->user && !getenv("UPOPMAIL_USER")) o->user = v[CLI_USER];
    if (v[CLI_FROM] && !o->from && !getenv("UPOPMAIL_FROM")) o->from = v[CLI_FROM];
    if (v[CLI_CA] && !o->ca && !o->config) o->ca = expand_home(v[CLI_CA]);
    if (v[CLI_TIMEOUT] && !o->timeout) o->timeout = v[CLI_TIMEOUT];
    return 0;
}

/* The host of a connection string, for ~/.netrc: the scheme, TLS:/TCP:, the port and the TLS
 * profile name removed ("smtps://[::1]:465" -> "::1", "TLS:mail.example.org+995:p" -> the name). */
static void host_of(const char *server, char *out, size_t cap)
{
    const char *p = strstr(server, "://"), *e;
    while (*server == ' ') server++;
    if (p) server = p + 3;
    else if (strncasecmp(server, "TLS:", 4) == 0 || strncasecmp(server, "TCP:", 4) == 0) server += 4;
    if (*server == '[') {
        e = strchr(server, ']');
        snprintf(out, cap, "%.*s", e ? (int)(e - server - 1) : 0, server + 1);
        return;
    }
    e = server + strcspn(server, ":+/ ");
    snprintf(out, cap, "%.*s", (int)(e - server), server);
}

/* Looks up host in a netrc file (the reader is cli_files.c): fills *user when it is NULL and
 * returns the password (allocated), or NULL. *status: an exit status when the file may not or
 * cannot be used. */
static char *netrc_lookup(const char *path, int explicit_file, const char *host, const char **user, int *status)
{
    FILE *f = fopen(path, "r");
    struct stat st;
    buf text = {0};
    cli_netrc entry;
    char *password = NULL;
    int rc;
    *status = 0;
    if (f == NULL) {
        if (explicit_file) {
            errorf("cannot read %s: %s", path, strerror(errno));
            *status = EXIT_LOCAL;
        }
        return NULL;
    }
    if (fstat(fileno(f), &st) != 0 || st.st_uid != getuid() || (st.st_mode & 077)) {
        errorf("%s is not used: it holds passwords, so it must belong to you and be readable by you "
               "alone (chmod 600 %s)", path, path);
        fclose(f);
        *status = EXIT_LOCAL;
        return NULL;
    }
    rc = slurp(f, &text, CLI_FILE_MAX);
    fclose(f);
    if (rc != 0) {
        errorf("cannot read %s: %s", path, rc == -2 ? "larger than 1 MiB" : strerror(errno));
        buf_free(&text);
        *status = EXIT_LOCAL;
        return NULL;
    }
    rc = cli_netrc_find(text.data, text.len, host, *user, &entry);
    buf_free(&text); /* wiped */
    if (rc == -2) {
        errorf("out of memory");
        exit(EXIT_LOCAL);
    }
    if (rc == 1) {
        if (*user == NULL && entry.login) *user = xstrdup(entry.login);
        password = xstrdup(entry.password);
        cli_netrc_free(&entry);
    }
    return password;
}

/* --starttls, --tls, --auth: the drivers they stand for, before those given with --security.
 * server is "SMTP" or "POP"; *conn the connection string (rewritten for implicit TLS). */
static int apply_shortcuts(opts *o, const char *server, const char **conn)
{
    char props[160];
    int have_auth = 0, i;
    for (i = 0; i < o->n_drivers; i++)
        if (strcasestr(o->drivers[i].properties, "AUTH") || strcasestr(o->drivers[i].properties, "APOP")) have_auth = 1;
    if (o->security_mode == 't' && *conn) {
        const char *c = *conn, *p = strstr(c, "://");
        static char *s; /* reachable until exit */
        s = malloc(strlen(c) + 8);
        if (s == NULL) exit(EXIT_LOCAL);
        if (p && (size_t)(p - c) == 4 && strncasecmp(c, "smtp", 4) == 0) sprintf(s, "smtps%s", p);
        else if (p && (size_t)(p - c) == 4 && strncasecmp(c, "pop3", 4) == 0) sprintf(s, "pop3s%s", p);
        else if (p || strncasecmp(c, "TCP:", 4) == 0) {
            free(s), s = NULL;
            return usage_error("--tls does not go with the connection string '%s' (give the host)", c);
        } else if (strncasecmp(c, "TLS:", 4) == 0) sprintf(s, "%s", c);
        else sprintf(s, "TLS:%s", c);
        *conn = s;
    }
    if (o->security_mode == 's') {
        if (o->n_drivers >= MAX_DRIVERS) return usage_error("too many %s options", "--security");
        memmove(&o->drivers[1], &o->drivers[0], (size_t)o->n_drivers * sizeof o->drivers[0]);
        memset(&o->drivers[0], 0, sizeof o->drivers[0]);
        snprintf(props, sizeof props, "%s=STARTTLS", server);
        o->drivers[0].properties = xstrdup(props);
        o->n_drivers++;
    }
    /* the logon: --auth MECH; by default AUTH PLAIN for SMTP behind --starttls/--tls with a user
     * (POP3 logs on with USER/PASS without a driver) */
    if (o->auth || (!have_auth && strcmp(server, "SMTP") == 0 && o->user && (o->security_mode == 's' || o->security_mode == 't'))) {
        const char *mech = o->auth ? o->auth : "PLAIN";
        if (o->n_drivers >= MAX_DRIVERS) return usage_error("too many %s options", "--security");
        if (strncasecmp(mech, "AUTH ", 5) == 0) mech += 5;
        if (strcasecmp(mech, "APOP") == 0) snprintf(props, sizeof props, "%s=APOP", server);
        else snprintf(props, sizeof props, "%s=AUTH %s", server, mech);
        for (i = (int)strlen(server) + 1; props[i]; i++) props[i] = (char)toupper((unsigned char)props[i]);
        memset(&o->drivers[o->n_drivers], 0, sizeof o->drivers[0]);
        o->drivers[o->n_drivers++].properties = xstrdup(props);
    }
    return 0;
}

/* Whether the logon needs a password: a user and a driver that takes one (or POP3's USER/PASS).
 * GSSAPI, EXTERNAL and the OAuth 2 mechanisms take none. */
static int needs_password(const opts *o, const char *server)
{
    static const char *const passwordless[] = {"GSSAPI", "EXTERNAL", "XOAUTH2", "OAUTHBEARER"};
    static const char *const with_password[] = {"LOGIN", "PLAIN", "CRAM", "SCRAM", "NTLM", "DIGEST", "APOP"};
    int i, k, pop = strcmp(server, "POP") == 0;
    if (o->user == NULL) return 0;
    for (i = 0; i < o->n_drivers; i++) {
        const char *name = strchr(o->drivers[i].properties, '=');
        name = name ? name + 1 : o->drivers[i].properties;
        for (k = 0; k < 4; k++)
            if (strcasestr(name, passwordless[k])) return 0;
        for (k = 0; k < 7; k++)
            if (strcasestr(name, with_password[k])) return 1;
    }
    return pop;
}

/* ------------------------------------------------------------------ the session */

typedef struct session {
    opts *o;
    upop *h;
    char *password, *token;
    char config_path[64], config_dir[32];
    const char *conn; /* the connection string, after --tls */
    /* the progress meter */
    int progress_shown;
    double t0, last_draw;
    int64_t last_done, first_done;
} session;

/* SIGINT, SIGTERM, SIGHUP: upop_cancel (an atomic store and a write(2): safe in a handler) ends
 * the blocking call with -4; a second signal kills the program the default way. */
static upop *volatile g_handle;
static volatile sig_atomic_t g_cancelled;

static void on_signal(int sig)
{
    (void)sig;
    g_cancelled = 1;
    if (g_handle) upop_cancel(g_handle);
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* no SA_RESTART: a blocking read returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void on_trace(void *user, int server, char direction, const char *line)
{
    session *s = user;
    if (s->progress_shown) { /* keep the meter and the trace apart */
        fputc('\n', stderr);
        s->progress_shown = 0;
    }
    fprintf(stderr, "%s %c %s\n", server == UPOP_SMTP ? "SMTP" : "POP", direction, line);
}

/* "12.3 MB" */
static void human(char *out, size_t cap, double bytes)
{
    if (bytes < 1024) snprintf(out, cap, "%.0f B", bytes);
    else if (bytes < 1048576) snprintf(out, cap, "%.1f KB", bytes / 1024);
    else if (bytes < 1073741824.0) snprintf(out, cap, "%.1f MB", bytes / 1048576);
    else snprintf(out, cap, "%.2f GB", bytes / 1073741824.0);
}

/* The meter: bytes (of the total), percentage, rate and ETA, redrawn in place at most every
 * PROGRESS_REDRAW_MS, and once at the end. Automatic on a terminal for transfers of
 * PROGRESS_AUTO_BYTES or more; --progress forces it. */
static int on_progress(void *user, int64_t done, int64_t total)
{
    session *s = user;
    double t = now_ms(), elapsed;
    char d[32], tot[32], rate[32], eta[32] = "";
    int last = total > 0 && done >= total;
    if (s->t0 == 0 || done < s->last_done) s->t0 = t, s->last_draw = 0, s->first_done = done; /* a new transfer */
    s->last_done = done;
    elapsed = t - s->t0;
    if (s->o->progress < 0 && (total > 0 ? total : done) < PROGRESS_AUTO_BYTES) return 0;
    if (!last && s->last_draw > 0 && t - s->last_draw < PROGRESS_REDRAW_MS) return 0;
    s->last_draw = t;
    human(d, sizeof d, (double)done);
    if (elapsed >= 1) human(rate, sizeof rate, (double)(done - s->first_done) * 1000.0 / elapsed);
    else snprintf(rate, sizeof rate, "--");
    if (total > 0) {
        human(tot, sizeof tot, (double)total);
        if (!last && done > s->first_done && elapsed >= 1) {
            double secs = (double)(total - done) * elapsed / 1000.0 / (double)(done - s->first_done);
            snprintf(eta, sizeof eta, "  ETA %d:%02d", (int)(secs / 60), (int)secs % 60);
        } else if (last) {
            snprintf(eta, sizeof eta, "  %.1f s", elapsed / 1000.0);
        }
        fprintf(stderr, "\r%s / %s  %3d%%  %s/s%s   ", d, tot, (int)(done * 100 / total), rate, eta);
    } else {
        fprintf(stderr, "\r%s  %s/s   ", d, rate);
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

static int mentions_tls(const char *e)
{
    return strcasestr(e, "tls") || strcasestr(e, "certificate") || strcasestr(e, "handshake") ||
           strcasestr(e, "'stls'") || strcasestr(e, "would send");
}

/* The exit status of a failed call: the stage it failed in, from its status, its sentence and
 * the last SMTP reply (the same rules as the Python binding's error_class). in_mailbox: the call
 * named a message (get, delete, a UIDL), so -7 is "no such message". */
static int exit_status(const char *e, int rc, int32_t reply, int in_mailbox)
{
    if (g_cancelled) return EXIT_CANCELLED;
    switch (rc) {
    case UPOP_E_TIMEOUT: return strcasestr(e, "cancel") ? EXIT_CANCELLED : EXIT_TIMEOUT;
    case UPOP_E_SIZE:
    case UPOP_E_QUOTA: return EXIT_SIZE;
    case UPOP_E_FILE:
    case UPOP_E_MEMORY: return EXIT_LOCAL;
    case UPOP_E_MISSING: return EXIT_USAGE;
    case UPOP_E_INIT:
    case UPOP_E_ENTRY: return EXIT_DRIVER;
    case UPOP_E_PARAM:
        if (strcasestr(e, "refused the logon") || strcasestr(e, "refused the credentials")) return EXIT_LOGON;
        if (strcasestr(e, "recipient") && strcasestr(e, "refused")) return EXIT_RCPT;
        return EXIT_USAGE;
    case UPOP_E_SECURITY:
        if (strcasestr(e, "not logged on")) return EXIT_PROTOCOL;
        if (reply == 530 || reply == 534 || reply == 535 || reply == 538 || strcasestr(e, "refused the credentials"))
            return EXIT_LOGON;
        return mentions_tls(e) ? EXIT_TLS : EXIT_PROTOCOL;
    case UPOP_E_UNSUPPORTED:
        if (in_mailbox) return EXIT_NOMSG;
        return mentions_tls(e) ? EXIT_TLS : EXIT_DRIVER;
    case UPOP_E_NETWORK: return mentions_tls(e) ? EXIT_TLS : EXIT_CONNECT;
    default: return rc > 0 ? EXIT_WARNING : EXIT_PROTOCOL;
    }
}

/* Prints the library's sentence; the hint for credentials without TLS names this program's
 * options rather than the library's. */
static void print_failure(const char *what, int rc, const char *sentence, int32_t code, const char *reply)
{
    char text[1024];
    char *cut, *opt;
    snprintf(text, sizeof text, "%s", sentence[0] ? sentence : "(no details)");
    cut = strstr(text, ", or set the option allow_plaintext=true");
    if (cut) *cut = '\0';
    if ((opt = strstr(text, "(option timeout_ms)")) != NULL) { /* the library's option is --timeout here */
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", opt + strlen("(option timeout_ms)"));
        snprintf(opt, sizeof text - (size_t)(opt - text), "(--timeout)%s", rest);
    }
    if (code != 0) errorf("%s failed: %d %s (server: %d %s)", what, rc, text, (int)code, reply);
    else errorf("%s failed: %d %s", what, rc, text);
    if (cut)
        fprintf(stderr, "%s: hint: add --starttls or --tls (or, to send the password without TLS anyway, "
                        "--allow-plaintext)\n", prog);
}

/* The failure of a library call: prints it and returns the exit status. */
static int fail_at(session *s, const char *what, int rc, int in_mailbox)
{
    char sentence[1024];
    end_progress(s);
    if (g_cancelled) {
        errorf("%s: cancelled", what);
        return EXIT_CANCELLED;
    }
    snprintf(sentence, sizeof sentence, "%s", upop_last_error(s->h));
    print_failure(what, rc, sentence, 0, "");
    return exit_status(sentence, rc, 0, in_mailbox);
}
static int fail(session *s, const char *what, int rc) { return fail_at(s, what, rc, 0); }

static int fail_smtp(session *s, const char *what, int rc)
{
    char sentence[1024], reply[UPOP_REPLY_MAX];
    int32_t code = 0;
    end_progress(s);
    if (g_cancelled) {
        errorf("%s: cancelled", what);
        return EXIT_CANCELLED;
    }
    snprintf(sentence, sizeof sentence, "%s", upop_last_error(s->h));
    reply[0] = '\0';
    upop_get_smtp_response(s->h, &code, reply, sizeof reply);
    print_failure(what, rc, sentence, code, reply);
    return exit_status(sentence, rc, code, 0);
}

static const char *server_or_env(opts *o, const char *var)
{
    const char *e;
    if (o->server) return o->server;
    e = getenv(var);
    return e && e[0] ? e : NULL;
}

/* Sets up the handle: the profile, options, TLS configuration, trace, progress, credentials,
 * the security context of server ("SMTP" or "POP"). Returns 0 or an exit status. */
static int open_session(session *s, const char *server)
{
    opts *o = s->o;
    int rc, i, may_logon;
    const char *env;
    if ((rc = apply_profile(o)) != 0) return rc;
    may_logon = strcmp(server, "POP") == 0 || o->security_mode == 's' || o->security_mode == 't' || o->auth;
    s->conn = server_or_env(o, strcmp(server, "SMTP") == 0 ? "UPOPMAIL_SMTP_SERVER" : "UPOPMAIL_POP_SERVER");
    if (s->conn == NULL) {
        char msg[160];
        snprintf(msg, sizeof msg, "%s needs --server (or $%s, or a profile's server)", o->command,
                 strcmp(server, "SMTP") == 0 ? "UPOPMAIL_SMTP_SERVER" : "UPOPMAIL_POP_SERVER");
        return usage_error("%s", msg);
    }
    if (o->user == NULL && (env = getenv("UPOPMAIL_USER")) != NULL && env[0]) o->user = env;
    if ((rc = upop_create(&s->h)) != UPOP_OK) {
        errorf("cannot create the component: %s", upop_last_error(NULL));
        return EXIT_LOCAL;
    }
    g_handle = s->h;
    if (o->trace) upop_set_trace(s->h, on_trace, s);
    if (o->quiet && o->progress < 0) o->progress = 0;
    if (o->progress > 0 || (o->progress < 0 && isatty(2))) upop_set_progress(s->h, on_progress, s);
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
            return EXIT_LOCAL;
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
    if (o->token_file) {
        if ((s->token = read_secret_file(o->token_file)) == NULL) return EXIT_LOCAL;
    } else if ((env = getenv("UPOPMAIL_TOKEN")) != NULL && env[0]) {
        s->token = xstrdup(env);
    }
    if (o->password_file) {
        if ((s->password = read_secret_file(o->password_file)) == NULL) return EXIT_LOCAL;
    } else {
        const char *var = o->password_env ? o->password_env : "UPOPMAIL_PASSWORD";
        if ((env = getenv(var)) != NULL && env[0]) s->password = xstrdup(env);
        else if (o->password_env) {
            errorf("the variable %s named by --password-env is not set", var);
            return EXIT_USAGE;
        }
    }
    for (i = 0; i < o->n_drivers; i++)
        if (strcasestr(o->drivers[i].properties, "AUTH") || strcasestr(o->drivers[i].properties, "APOP")) may_logon = 1;
    if (s->password == NULL && s->token == NULL && may_logon) { /* ~/.netrc: the password, and the user if none */
        char host[256], *path;
        const char *user = o->user;
        int status = 0;
        host_of(s->conn, host, sizeof host);
        if (o->netrc_file) path = xstrdup(o->netrc_file);
        else if ((env = getenv("NETRC")) != NULL && env[0]) path = xstrdup(env);
        else path = expand_home("~/.netrc");
        if (path[0] != '~') s->password = netrc_lookup(path, o->netrc_file != NULL, host, &user, &status);
        free(path);
        if (status) return status;
        o->user = user;
    }
    if ((rc = apply_shortcuts(o, server, &s->conn)) != 0) return rc;
    if (s->password == NULL && s->token == NULL && needs_password(o, server)) {
        char prompt[300];
        snprintf(prompt, sizeof prompt, "Password for %s", o->user);
        s->password = prompt_secret(prompt);
        if (s->password == NULL) {
            errorf("no password for %s: there is no terminal to ask on. Give it with --password-file, "
                   "$UPOPMAIL_PASSWORD (or --password-env) or ~/.netrc.", o->user);
            return EXIT_LOGON;
        }
    }

    /* the security context, in the order given */
    for (i = 0; i < o->n_drivers; i++) {
        driver_opt *d = &o->drivers[i];
        size_t sl = strlen(server);
        int k, attempt, given_user = 0;
        char first_error[1024] = "";
        if (strncmp(d->properties, server, sl) != 0 || d->properties[sl] != '=') {
            errorf("--security '%s' is not for this command (it needs %s=...)", d->properties, server);
            return EXIT_USAGE;
        }
        for (k = 0; k < d->n; k++)
            if (strcmp(d->keys[k], "user") == 0) given_user = 1;
        /* first with the credentials, then (if the driver refuses unknown keys) without */
        for (attempt = 0; attempt < 2; attempt++) {
            buf p = {0};
            int with_creds = attempt == 0 && (o->user || s->password || s->token);
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
                    return EXIT_DRIVER;
                }
                snprintf(first_error, sizeof first_error, "%s", upop_last_error(s->h));
                errorf("--security '%s' failed: %d %s", d->properties, rc, first_error);
                return exit_status(first_error, rc, 0, 0);
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
    g_handle = NULL;
    upop_destroy(s->h);
    s->h = NULL;
    if (s->password) wipe(s->password, strlen(s->password)), free(s->password);
    if (s->token) wipe(s->token, strlen(s->token)), free(s->token);
    s->password = s->token = NULL;
    if (s->config_path[0]) remove(s->config_path), rmdir(s->config_dir);
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
    const char *from;
    buf list = {0}, text = {0}, eml = {0};
    char opt[512];
    int rc, i, status, eml_path = 0;

    s.o = o;
    if (o->eml && (o->subject || o->text || o->text_file || o->html_file || o->n_attach || o->n_inl ||
                   o->reply_to || o->priority || o->message_id || o->n_hdr || o->from))
        return usage_error("--eml sends a message as it is: it takes no composing option (%s)",
                           "--from, --subject, --text, --attach, --header...");
    if (!o->eml && o->n_to + o->n_cc + o->n_bcc == 0) return usage_error("send needs --to, --cc or --bcc%s", "");
    if (o->text && o->text_file) return usage_error("give --text or --text-file, not both%s", "");
    if ((status = open_session(&s, "SMTP")) != 0) goto out;
    from = o->from ? o->from : getenv("UPOPMAIL_FROM");
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
                status = EXIT_LOCAL;
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
            status = EXIT_LOCAL;
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
            status = EXIT_LOCAL;
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
    if ((rc = upop_connect(s.h, UPOP_SMTP, s.conn, "", "")) != UPOP_OK) {
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
    int rc = open_session(s, "POP");
    if (rc != 0) return rc;
    rc = upop_connect(s->h, UPOP_POP, s->conn, s->o->user ? s->o->user : "", s->password ? s->password : "");
    return rc == UPOP_OK ? 0 : fail(s, "logon", rc);
}

/* Prints s in a column of width display cells (UTF-8; wide characters count two, combining
 * marks none), cut at a character boundary and padded with blanks; width 0: as it is. */
static void put_col(const char *s, int width, int right)
{
    const char *p = s, *end = s;
    int used = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    while (*p) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, p, strlen(p), &st);
        int w;
        if (n == (size_t)-1 || n == (size_t)-2 || n == 0) { /* not UTF-8: one byte, one cell */
            memset(&st, 0, sizeof st);
            n = 1, w = 1;
        } else {
            w = wcwidth(wc);
            if (w < 0) w = 1;
        }
        if (width && used + w > width) break;
        used += w;
        p += n;
        end = p;
    }
    if (right) printf("%*s", width > used ? width - used : 0, "");
    fwrite(s, 1, (size_t)(end - s), stdout);
    if (!right) printf("%*s", width > used ? width - used : 0, "");
}

/* One line of the table: with_uidl adds the UIDL column after the ID. */
static void print_row(int with_uidl, const char *id, const char *uidl, const char *size, const char *date,
                      const char *from, const char *subject)
{
    put_col(id, 6, 1);
    fputs(" ", stdout);
    if (with_uidl) put_col(uidl, 24, 0), fputs(" ", stdout);
    put_col(size, 9, 1);
    fputs("  ", stdout);
    put_col(date, 31, 0);
    fputs("  ", stdout);
    put_col(from, 30, 0);
    fputs("  ", stdout);
    put_col(subject, 0, 0);
    fputs("\n", stdout);
}

/* Whether a list value is a number in JSON (NMB, ID, SIZE, PRIORITY). */
static int json_number(const char *key, size_t kl, const char *val)
{
    static const char *const keys[] = {"NMB", "ID", "SIZE", "PRIORITY"};
    size_t i;
    const char *p = val;
    if (*p == '\0' || (*p == '0' && p[1])) return 0;
    for (; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    for (i = 0; i < 4; i++)
        if (kl == strlen(keys[i]) && strncmp(key, keys[i], kl) == 0) return 1;
    return 0;
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
                if (json_number(item, kl, val)) buf_str(&b, val);
                else buf_json(&b, val);
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
        *status = fail_at(s, "find UIDL", rc, 1);
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
        status = fail_at(&s, "get --all", rc, 1);
        if (rc != UPOP_E_UNSUPPORTED && rc != UPOP_E_RETRIEVAL) goto out; /* -7/-11: the others came */
    }
    if (!o->quiet) fprintf(stderr, "%ld message(s) written to %s\n", a.count, a.dir);
    for (i = 0; o->del && i < a.n_done; i++)
        if ((rc = upop_delete_mail(s.h, a.done[i])) != UPOP_OK) {
            status = fail_at(&s, "delete", rc, 1);
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
            status = fail_at(&s, "get", rc, 1);
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
            status = fail_at(&s, "get", rc, 1);
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
        status = fail_at(&s, "delete", rc, 1);
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
            status = fail_at(&s, o->args[i], rc, 1); /* the session is dropped: nothing is deleted */
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
            return EXIT_DRIVER;
        }
    json = upop_drivers_json();
    if (json == NULL) {
        errorf("out of memory");
        return EXIT_LOCAL;
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
    static opts o; /* static: the strings the options point to stay reachable until exit */
    int rc;
    memset(&o, 0, sizeof o);
    o.progress = -1;
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(main_help, argc < 2 ? stderr : stdout);
        if (argc >= 2) fputs("\n", stdout), fputs(exit_help, stdout);
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
    rc = parse(argc - 1, argv + 1, &o);
    if (rc == -1) return 0;
    if (rc != 0) return rc;
    if (upop_abi_version() != UPOP_ABI_VERSION) {
        errorf("the library speaks ABI %d, this program was built for ABI %d", upop_abi_version(), UPOP_ABI_VERSION);
        return EXIT_LOCAL;
    }
    setlocale(LC_CTYPE, "C.UTF-8"); /* wcwidth for the columns of `list`; the output stays bytes */
    catch_signals();
    if (strcmp(o.command, "send") == 0) return cmd_send(&o);
    if (strcmp(o.command, "list") == 0) return cmd_list(&o);
    if (strcmp(o.command, "get") == 0) return cmd_get(&o);
    if (strcmp(o.command, "delete") == 0) return cmd_delete(&o);
    return cmd_drivers(&o);
}

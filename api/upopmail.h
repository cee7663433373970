/*
 * upopmail.h — the C ABI of the upopmail mail component (SMTP sending, POP3 receiving).
 *
 * Conventions (apply to every function below):
 *  - Status: 0 success, negative error, positive for counts and warnings. upopmail keeps the
 *    status codes of the UPOPMAIL component that legacy applications were written against: each
 *    code has one meaning (the table at the status enum below), except where that component
 *    gave it another per operation ("orig:" in the table), and the table names those overloads.
 *  - Every function's comment ends with the statuses it can return, as "Returns: 0; -2 ...;
 *    -8 ..." (items separated by ';', each starting with its status, or ">0" / ">=0" for a
 *    count). tests/abi/misuse_test.cpp checks the library against these clauses.
 *  - After any call on a handle, upop_last_error(h) holds a sentence describing the failure
 *    (empty after a success, except the "DSN not requested" note of Send and SendRaw; also set
 *    for -16 and for the positive warnings of Send and GetMail). Sentences are valid UTF-8 without control characters: bytes of the caller's or a
 *    server's that are not UTF-8 show as \xHH, control characters as \r, \n, \t, \xHH or
 *    \u00HH. Secrets never appear in them. upop_strerror(status) gives the general meaning.
 *  - Every function that takes a handle returns -10 (UPOP_E_MISC) for a NULL handle, and
 *    upop_last_error(NULL) then names the function.
 *  - Strings in are UTF-8 and NUL-terminated; NULL is treated as "". Strings out are written into
 *    a caller buffer (buf, cap), always NUL-terminated when cap > 0 and never split inside a UTF-8
 *    sequence (a byte that starts no well-formed sequence, as raw mail may hold, counts as one
 *    character). A value that does not fit is cut after the last whole character that fits and
 *    the call returns UPOP_E_MORE (-16); every -16 part holds at least one character. A buffer
 *    that cannot hold the next character and the NUL (buf NULL, cap 0, or cap 1 to 4 before a
 *    longer sequence) gets UPOP_E_MISC (-10): no output of the call is written (the buffers
 *    keep what they held) and nothing is consumed, so the same _x call with a larger buffer
 *    goes on where it stopped. An output that has nothing to write may be NULL with cap 0.
 *  - Lists use the GOLD separator, the single byte 0x1B (UPOP_SEP), with Name=Value items. Lists
 *    that a person types (recipients, options, SetSecurity properties and parameters) also accept
 *    ';' as separator; driver parameters also accept a JSON object.
 *  - One handle is used by one thread at a time (upop_cancel excepted); different handles may be
 *    used from different threads at once. The driver registry is process-wide and thread-safe.
 */
#ifndef UPOPMAIL_H
#define UPOPMAIL_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define UPOP_API __declspec(dllimport)
#elif defined(__GNUC__)
#define UPOP_API __attribute__((visibility("default")))
#else
#define UPOP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the component; upop_version() returns the same as a string. */
#define UPOP_VERSION_MAJOR 1
#define UPOP_VERSION_MINOR 0
#define UPOP_VERSION_PATCH 0
/** ABI version of this header; upop_abi_version() returns the library's. */
#define UPOP_ABI_VERSION 1

/** The GOLD list separator (byte 0x1B). */
#define UPOP_SEP ((char)0x1B)
#define UPOP_SEP_STR "\x1B"

/** Server types: the first argument of upop_connect / upop_disconnect. */
enum { UPOP_SMTP = 1, UPOP_POP = 2 };

/** Maximum sizes (including the terminating NUL) of the small outputs. */
#define UPOP_PROPERTIES_MAX 256
#define UPOP_RUNTIME_INFO_MAX 1024
#define UPOP_REPLY_MAX 512
#define UPOP_DETAILS_MAX 102400

/* Status codes. One meaning per code; "orig:" marks what the UPOPMAIL component (whose codes
 * upopmail keeps, see the conventions above) fixes for an operation, where it gives the code
 * another meaning (an overload) or names the case itself.
 * upop_strerror(status) returns this meaning as a sentence.
 *
 *  >0   counts and warnings. Send: the number of refused recipients (IgnoreRcptError; the message
 *       went to the others). ListMail: the number of messages (>= 0, so 0 too). GetMail: warning
 *       1 a part could not be decoded, 2 a part could not be written, 3 a duplicate file name
 *       (the message was retrieved).
 *   0   UPOP_OK             success.
 *  -1   UPOP_E_INIT         a security driver refused: SetSecurity: the driver rejected its
 *                           parameters (orig) · GetSecurity: no such driver number (orig).
 *                           (orig GetMail: "charset not supported" is -17 here.)
 *  -2   UPOP_E_PARAM        a value the caller gave is refused: a bad keyword, option, value,
 *                           address, path, or CR/LF in a header field (orig: SetSecurity and
 *                           GetSecurity keywords, LogonSMTP given a user or password, SendMail's
 *                           invalid To/From). Overloads (orig): LogonMail: the server refused the
 *                           credentials or the mailbox is locked · Send: the server refused the
 *                           sender or the recipients (nothing was sent).
 *  -3   UPOP_E_ACTIVE       already logged on (orig) · SetSecurity: a connection lifetime of
 *                           that server type is active (orig).
 *  -4   UPOP_E_TIMEOUT      a network time-out, or upop_cancel: the connection is closed.
 *                           (orig SetSecurity "no access to Uniface": not returned.)
 *  -5   UPOP_E_ENTRY        SetSecurity: no driver of that name, or none for that server type
 *                           (orig). (orig LogonMail "initialisation error": not returned.)
 *  -6   UPOP_E_SIZE         a size limit exceeded: an argument longer than its limit, a message
 *                           larger than MaxSize, MailSize or the server's SIZE (orig: Send,
 *                           SendMail, GetMail, GetRawMail). Overload (orig): SetSecurity and
 *                           GetSecurity: memory allocation failed.
 *  -7   UPOP_E_UNSUPPORTED  logon (LogonSMTP, LogonMail, SendMail): the server lacks what a
 *                           mandatory driver needs (orig) · GetMail, GetRawMail, DeleteMail: no
 *                           such message number (orig); upop_retrieve likewise;
 *                           upop_find_uidl: no message with that unique-id.
 *  -8   UPOP_E_SECURITY     logon (LogonSMTP, LogonMail, SendMail): the security context could
 *                           not be established: TLS, authentication or a protocol error (orig)
 *                           · every other session operation: not logged on (orig).
 *  -9   UPOP_E_NETWORK      the network: socket error, connection lost, bad host name or
 *                           connection string, a TLS configuration unusable at logon, a server
 *                           that broke the protocol (at logon that is -8).
 *  -10  UPOP_E_MISC         misuse no data can cause: a NULL handle or pointer, a server type
 *                           other than UPOP_SMTP/UPOP_POP, a buffer that cannot hold the next
 *                           character, an _x call with nothing pending; also a stop by the
 *                           progress callback or by upop_retrieve's chunk callback, a server
 *                           reply the operation cannot go on from (Send: DATA or the message
 *                           refused), an internal error (orig: "miscellaneous").
 *  -11  UPOP_E_RETRIEVAL    a listing or message could not be retrieved: the server refused it,
 *                           or it is beyond the parser's bounds.
 *  -12  UPOP_E_MISSING      Send, SendMail: From or every recipient missing (orig).
 *  -13  UPOP_E_FILE         a file cannot be opened or read: an attachment at AddAttachment,
 *                           AddInline, SendMail, or at Send when it vanished or changed since.
 *  -14  UPOP_E_MIME         (orig: MIME encoding failed; not returned by this implementation.)
 *  -15  UPOP_E_QUOTA        the server's quota is exceeded (SMTP 452/552).
 *  -16  UPOP_E_MORE         an output did not fit its buffer: a first part was written; ListMail,
 *                           GetMail, GetRawMail continue with their _x call.
 *  -17  UPOP_E_CHARSET      GetMail: the text's character set is not supported.
 *  -18  UPOP_E_MEMORY       memory allocation failed (-6 in SetSecurity and GetSecurity).
 */
enum {
    UPOP_OK = 0,
    UPOP_E_INIT = -1,
    UPOP_E_PARAM = -2,
    UPOP_E_ACTIVE = -3,
    UPOP_E_TIMEOUT = -4,
    UPOP_E_ENTRY = -5,
    UPOP_E_SIZE = -6,
    UPOP_E_UNSUPPORTED = -7,
    UPOP_E_SECURITY = -8,
    UPOP_E_NETWORK = -9,
    UPOP_E_MISC = -10,
    UPOP_E_RETRIEVAL = -11,
    UPOP_E_MISSING = -12,
    UPOP_E_FILE = -13,
    UPOP_E_MIME = -14,
    UPOP_E_QUOTA = -15,
    UPOP_E_MORE = -16,
    UPOP_E_CHARSET = -17,
    UPOP_E_MEMORY = -18
};
/* Aliases for the overloaded codes. */
#define UPOP_E_NOT_LOGGED_ON UPOP_E_SECURITY
#define UPOP_E_BAD_MSG_NR UPOP_E_UNSUPPORTED
#define UPOP_E_NO_DRIVER UPOP_E_ENTRY

typedef struct upop upop; /**< one component instance */

/* ------------------------------------------------------------------ lifecycle */

/** Creates a component instance into *out (NULL on failure). The handle is owned by the caller
 *  and released with upop_destroy. The sentence of a failure is upop_last_error(NULL).
 *  Returns: 0; -10 out is NULL, or the system refused a resource (an event descriptor); -18
 *  memory. */
UPOP_API int upop_create(upop **out);

/** Logs off both sessions (QUIT, which commits POP deletions; each bounded by timeout_ms),
 *  closes the drivers of both contexts in reverse order, wipes secrets and frees the handle.
 *  Failures cannot be reported any more: the trace shows a QUIT that was not confirmed. Use
 *  upop_disconnect first to learn whether POP deletions were committed. NULL is ignored. */
UPOP_API void upop_destroy(upop *h);

/** "MAJOR.MINOR.PATCH" of the library; a static string. */
UPOP_API const char *upop_version(void);

/** The ABI version of the library (UPOP_ABI_VERSION it was built with). */
UPOP_API int upop_abi_version(void);

/** A static English sentence for any status: the meaning of the code in the table above, with
 *  the overloads per operation; a general sentence for other positive values and for codes that
 *  are not statuses of upopmail. Never NULL. (0.2) */
UPOP_API const char *upop_strerror(int status);

/** The sentence describing the last failure on h ("" after a success), owned by the handle and
 *  valid until the next call on h. With h NULL: the sentence of the last call on this thread
 *  that had no handle to keep it (upop_create, upop_registry_add_path, or any function given a
 *  NULL handle, which the sentence names), "" when that call succeeded, and a sentence that
 *  begins "no handle" when the thread made no such call yet; valid until the next such call on
 *  this thread. Never NULL; always valid UTF-8 without control characters. */
UPOP_API const char *upop_last_error(const upop *h);

/* ------------------------------------------------------------------ security context */

/** SetSecurity: appends one driver to the SMTP or POP security context.
 *  properties: "SMTP=<driver>" or "POP=<driver>", optionally followed by a separator and
 *  "USE=MAND" (default) or "USE=OPT"; "SMTP=" / "POP=" alone clears that context. Driver names
 *  are matched case-insensitively against the registry's canonical names and aliases.
 *  parameters: the driver's parameters as a JSON object or a GOLD/';' list of key=value.
 *  Give secrets (passwords, tokens) in the JSON form: in the key=value form a value cannot
 *  contain ';' (nor the GOLD separator), and an empty entry is refused since it may be the cut
 *  end of one. Error sentences name a JSON key or an entry's position, never a value.
 *  Credential drivers (AUTH PLAIN, LOGIN, ...) run only over TLS whose server certificate was
 *  verified; without TLS, or over TLS with verify_server=no, verify_server_name=no (or
 *  verify_server=ignore with a problem found)
 *  they are refused (-8 at connect) unless their parameters say allow_plaintext=true.
 *  The first SetSecurity after a connection lifetime starts a new context.
 *  On failure the context is unchanged.
 *  Returns: 0; -1 the driver rejected its parameters (the sentence names the key); -2 bad
 *  properties (unknown server type or keyword, longer than 255 bytes); -3 a connection lifetime
 *  of that server type is active; -5 no driver of that name, or none for that server type (the
 *  sentence names it); -6 memory; -10 h is NULL. */
UPOP_API int upop_set_security(upop *h, const char *properties, const char *parameters);

/** GetSecurity: describes driver number driver_number (1-based) of the context selected by
 *  server ("SMTP=" or "POP="). Writes the properties string as given to SetSecurity, and the
 *  runtime info: "INUSE=TRUE|FALSE" followed by the driver's own items, GOLD-separated.
 *  Returns: 0; -1 no such driver; -2 bad server keyword; -6 memory; -10 h is NULL, or a buffer
 *  cannot hold its first character; -16 an output was truncated. */
UPOP_API int upop_get_security(upop *h, int32_t driver_number, const char *server,
                               char *properties, size_t properties_cap, char *runtime_info,
                               size_t runtime_info_cap);

/* ------------------------------------------------------------------ sessions */

/** LogonSMTP (server UPOP_SMTP) or LogonMail (UPOP_POP).
 *  connection: "{TCP|TLS:}host{+port}{:profile}" or "smtp://", "smtps://", "pop3://",
 *  "pop3s://" host[:port] (IPv6 literals in brackets). Default ports 25/465 SMTP, 110/995 POP.
 *  The form of other tools, "host:port" and "[v6]:port" (also after TCP: or TLS:), is accepted
 *  too (0.2): digits alone after the ':' are a port, anything else is a TLS profile name (which
 *  is never digits alone: the configuration refuses such names). So "localhost:2525" is port
 *  2525, "TLS:mail.example.com:995" port 995, "TLS:mail.example.com:prof" the profile prof; a
 *  port and a profile are "host+port:profile". A bare IPv6 literal takes no ":port" ("::1:25" is
 *  an address): write "[::1]:25". A profile without TLS: is refused with a sentence naming
 *  host+port, host:port and the URL form.
 *  SMTP: user and password must be empty (authentication is done by the security context).
 *  POP: user/password are sent with USER/PASS unless an authenticating driver was used, and
 *  only over TLS with a verified server certificate unless the option allow_plaintext is true.
 *  The TLS configuration (option "config" or UPOPMAIL_CONFIG) is read again here. LogonMail
 *  discards the output that ListMail, GetMail and GetRawMail had not handed out.
 *  Returns: 0; -2 SMTP: a user name or password was given, POP: the server refused the
 *  credentials or the mailbox is locked, or no user name and no authenticating driver, or CR/LF
 *  in them; -3 already logged on; -4 time-out or upop_cancel; -7 a mandatory driver is not
 *  supported by the server; -8 the security context could not be established (TLS failure,
 *  refused authentication, protocol error, credentials refused without verified TLS); -9 network
 *  error, bad host name or connection string, or a TLS configuration (file, profile, options)
 *  that is unusable, such as a configuration file that has gone since upop_set_option; -10 h is
 *  NULL, server is neither UPOP_SMTP nor UPOP_POP, or a driver failed inside the host; -18
 *  memory. */
UPOP_API int upop_connect(upop *h, int server, const char *connection, const char *user,
                          const char *password);

/** LogoffSMTP / LogoffMail: closes the context's drivers in reverse order, sends QUIT (which
 *  commits POP deletions) and closes the connection, which is closed in every case. LogoffMail
 *  discards the output that ListMail, GetMail and GetRawMail had not handed out. 0 means the
 *  server confirmed QUIT (SMTP 221, POP3 +OK); for POP the deletions of the session are then
 *  committed.
 *  Returns: 0; -8 not logged on; -9 QUIT was not confirmed: no answer within timeout_ms, the
 *  connection lost, upop_cancel, or a refusal (POP: the deletions were not confirmed and the
 *  messages may still be in the mailbox); -10 h is NULL, or server is neither UPOP_SMTP nor
 *  UPOP_POP; -18 memory. */
UPOP_API int upop_disconnect(upop *h, int server);

/** Noop (0.2): a keep-alive, NOOP on the open session of that server type (UPOP_SMTP or
 *  UPOP_POP); nothing else changes. Servers close idle sessions (POP3 after 10 minutes at the
 *  least, RFC 1939; SMTP after 5, RFC 5321): a NOOP now and then keeps one open. For SMTP the
 *  reply is what upop_get_smtp_response reports next.
 *  Returns: 0; -4 time-out or upop_cancel (the connection is closed); -8 not logged on to a
 *  server of that type; -9 network, or a server that broke the protocol (the connection is
 *  closed); -10 h is NULL, server is neither UPOP_SMTP nor UPOP_POP, or the server refused
 *  NOOP (the sentence gives its reply, and the session stays open); -18 memory. */
UPOP_API int upop_noop(upop *h, int server);

/** Reset (0.2): RSET on the open session of that server type. POP: the messages deleted in
 *  this session (upop_delete_mail) are no longer marked: they stay in the mailbox at LogoffMail
 *  and keep their numbers. SMTP: ends a mail transaction the server may still hold (the
 *  composed message and the session stay); the reply is what upop_get_smtp_response reports next.
 *  Returns: 0; -4 time-out or upop_cancel (the connection is closed); -8 not logged on to a
 *  server of that type; -9 network, or a server that broke the protocol (the connection is
 *  closed); -10 h is NULL, server is neither UPOP_SMTP nor UPOP_POP, or the server refused
 *  RSET (the sentence gives its reply, and the session stays open); -18 memory. */
UPOP_API int upop_reset(upop *h, int server);

/* ------------------------------------------------------------------ composing */

/** SetToList / SetCCList / SetBCCList: replaces the list of addresses ("a@b.c" or
 *  "Name <a@b.c>", GOLD, ';' or ',' separated, at most 10240 bytes).
 *  Returns: 0; -2 an address is malformed or the list contains CR or LF; -6 longer than 10240
 *  bytes; -10 h is NULL; -18 memory. */
UPOP_API int upop_set_to_list(upop *h, const char *list);
UPOP_API int upop_set_cc_list(upop *h, const char *list);
UPOP_API int upop_set_bcc_list(upop *h, const char *list);
/** SetReplyTo / SetFrom: one address (at most 1024 bytes; "" removes it).
 *  Returns: 0; -2 the address is malformed or contains CR or LF; -6 longer than 1024 bytes; -10
 *  h is NULL; -18 memory. */
UPOP_API int upop_set_reply_to(upop *h, const char *address);
UPOP_API int upop_set_from(upop *h, const char *address);
/** SetSubject: Unicode subject (at most 10240 bytes).
 *  Returns: 0; -2 contains CR or LF; -6 longer than 10240 bytes; -10 h is NULL; -18 memory. */
UPOP_API int upop_set_subject(upop *h, const char *subject);
/** SetPriority: 1 (highest) to 5 (lowest); 0 removes it.
 *  Returns: 0; -2 out of range; -10 h is NULL; -18 memory (for the sentence). */
UPOP_API int upop_set_priority(upop *h, int32_t priority);
/** SetMessageId: the given id (at most 1024 bytes) is used as is; NULL or "" generates
 *  "<TimeStamp.XXXXXXXXXXXXXXXX@HostName>" now. Either way the id is explicit: every Send
 *  carries it until ClearMail or the next SetMessageId. Without one, every Send generates a
 *  fresh id (see upop_send).
 *  Returns: 0; -2 contains CR or LF; -6 longer than 1024 bytes; -10 h is NULL; -18 memory. */
UPOP_API int upop_set_message_id(upop *h, const char *message_id);
/** SetMessage: sets the body of one MIME type (options "MIMEType=text/plain" (default) or
 *  "MIMEType=text/html"); the same type again replaces it.
 *  Returns: 0; -2 unsupported MIME type or option; -6 text over 10240000 bytes or options over
 *  10240; -10 h is NULL; -18 memory. */
UPOP_API int upop_set_message(upop *h, const char *text, const char *options);
/** AddAttachmentFromFile / AddInlineFromFile (options MIMEType=, and ContentID= for inline
 *  objects). The file is opened and examined now, and read at Send.
 *  Returns: 0; -2 the path or options contain CR or LF, or a bad option or value; -6 path over
 *  1024 bytes or options over 10240; -10 h is NULL; -13 no path, or the file cannot be opened or
 *  is not a regular file; -18 memory. */
UPOP_API int upop_add_attachment_from_file(upop *h, const char *path, const char *options);
UPOP_API int upop_add_inline_from_file(upop *h, const char *path, const char *options);
/** AddAttachmentFromMemory (0.2): an attachment whose bytes are data[0..len), copied now (the
 *  caller's buffer may be freed after the call). name is the file name shown to the recipient
 *  (at most 1024 bytes; non-ASCII is written RFC 2231-encoded, as for files) and gives the MIME
 *  type when options has no MIMEType=. Options as for the file variants: MIMEType=TYPE/SUBTYPE,
 *  and ContentID=ID, which makes the part an inline object (like upop_add_inline_from_file:
 *  sent only with an HTML body). len 0 is an empty attachment.
 *  Returns: 0; -2 a bad option or value, or name empty or with CR, LF or NUL; -6 name over 1024
 *  bytes or options over 10240; -10 h is NULL, or data is NULL with len > 0; -18 memory. */
UPOP_API int upop_add_attachment_from_memory(upop *h, const void *data, size_t len, const char *name,
                                             const char *options);
/** SetEnvelopeFrom (0.2): the envelope sender (MAIL FROM) of Send and SendRaw, apart from the
 *  From field: an address ("a@b.c" or "Name <a@b.c>", at most 1024 bytes); "<>" the null
 *  reverse-path (for bounces and auto-replies: no report comes back); NULL or "" back to the
 *  default (Send: the From address; SendRaw: the message's Sender, else its From). ClearMail
 *  forgets it.
 *  Returns: 0; -2 the address is malformed or contains CR or LF; -6 longer than 1024 bytes; -10
 *  h is NULL; -18 memory. */
UPOP_API int upop_set_envelope_from(upop *h, const char *address);
/** AddHeader (0.2): an extra header field of the composed message (In-Reply-To, References,
 *  List-Unsubscribe, X-...), written after Message-ID in the order added; the same name twice
 *  gives two fields. name: an RFC 5322 field name (1 to 76 printable ASCII characters, no ':').
 *  The fields the composer writes are refused with a sentence naming the call that sets them
 *  ("Subject is set with upop_set_subject"): From, To, Cc, Bcc, Reply-To, Subject, Date,
 *  Message-ID, MIME-Version, X-Priority, Importance and every Content-*. value: at most 10240
 *  bytes, folded at blanks; non-ASCII is written as RFC 2047 encoded words (UTF-8). ClearMail
 *  forgets the fields.
 *  Returns: 0; -2 the name is not a valid field name or is one of the composer's, or the value
 *  contains CR, LF or NUL; -6 value over 10240 bytes; -10 h is NULL; -18 memory. */
UPOP_API int upop_add_header(upop *h, const char *name, const char *value);
/** Send: transmits the composed message over the open SMTP session. Options: MaxSize=BYTES,
 *  IgnoreRcptError=True|False, and DSN (RFC 3461): Notify=NEVER or one or more of
 *  SUCCESS,FAILURE,DELAY (','-separated; NEVER with another is -2), Ret=FULL|HDRS, EnvId=ID (1 to
 *  100 bytes, xtext-encoded on the wire). A list that holds a GOLD separator is split at GOLD
 *  only (so a value may hold ';'), else at ';' too. The message
 *  is kept until ClearMail.
 *  Message-ID: the explicit one (upop_set_message_id), else a fresh
 *  "<TimeStamp.XXXXXXXXXXXXXXXX@domain>" for every Send (16 random alphanumeric characters; the
 *  From domain, or the EHLO domain when that is not ASCII): two Sends of one composition carry
 *  two ids. MAIL FROM: upop_set_envelope_from's address, else the From address.
 *  DSN: the parameters go out (NOTIFY on every RCPT TO, RET and ENVID on MAIL FROM) only when the
 *  server offers DSN. When it does not, the message is still sent and the status is what it
 *  would have been (0, or the count of refused recipients), but upop_last_error(h) then holds a
 *  sentence containing "DSN not requested" (after the refusals' sentence, if any): the one way
 *  a successful Send has a non-empty sentence besides refused recipients.
 *  Transfer: with a server that offers CHUNKING (RFC 3030) the message goes in BDAT chunks of
 *  up to 1 MiB, not dot-stuffed; with one recipient MAIL FROM, RCPT TO and the first chunk
 *  share one write (one round trip for a small message; if the server refuses the sender or
 *  the recipient it discards the data, and nothing is delivered). Otherwise DATA, dot-stuffed.
 *  Line ends become CRLF either way. "The final dot" below is, with BDAT, the end of the last
 *  chunk ("BDAT n LAST").
 *  Integrity: attachments and inline files must be what they were at AddAttachment/AddInline
 *  (size and modification time, checked before MAIL FROM and again while the data streams).
 *  Any failure after the server's 354 or inside a chunk (a file that vanished or changed, a
 *  network error, the low-speed rule, the progress callback) closes the connection before the
 *  final dot: nothing is delivered, the sentence says so, and the session is over (the next
 *  call returns -8 at once). A chunk the server refuses stops the sending and RSET ends the
 *  transaction; the session stays open. Once the final dot is written, upop_cancel no longer
 *  abandons the server's verdict: it is awaited up to timeout_ms (RFC 5321 4.5.3.2); without it
 *  Send returns -4 (or -9) with a sentence saying the message MAY HAVE BEEN DELIVERED: check
 *  before sending it again.
 *  Returns: 0; >0 the number of refused recipients (IgnoreRcptError: the message went to the
 *  others, upop_get_recipient_details lists them); -2 a bad option or value, an address the
 *  server cannot take (non-ASCII without SMTPUTF8), or the server refused the sender, every
 *  recipient, or without IgnoreRcptError any recipient (nothing was sent); -4 time-out or
 *  upop_cancel (after the final dot the message may have been delivered); -6 larger than MaxSize
 *  or the server's SIZE, or options over 10240 bytes; -8 not logged on; -9 network; -10 h is
 *  NULL, the server refused DATA, a BDAT chunk or the message, or the progress callback stopped
 *  it; -12 From or every recipient missing; -13 an attachment vanished or changed since it was
 *  added; -15 server quota (452/552); -18 memory. */
UPOP_API int upop_send(upop *h, const char *options);
/** SendRaw / SendRawFile (0.2): transmits an existing RFC 5322 message as it is, over the open
 *  SMTP session, as Send does (BDAT or DATA with dot-stuffing, SIZE, PIPELINING; the same
 *  options, DSN included, with the same "DSN not requested" sentence). upop_send_raw takes the
 *  len bytes at message (NUL bytes included); upop_send_raw_file reads the file at path as it
 *  sends, so memory stays flat whatever its size (only the header section is held, at most
 *  262144 bytes). Line ends (CRLF, bare CR, bare LF) go out as CRLF; nothing else is changed: a
 *  message without Date or Message-ID goes without them, and the composition (upop_set_from,
 *  ...) is not used, except the envelope sender.
 *  recipients: a list like SetToList's: the envelope recipients, the message unchanged; or NULL
 *  or "": the addresses of the message's To, Cc and Bcc fields (groups, comments and display
 *  names understood), and the Bcc fields are removed from the header before sending.
 *  MAIL FROM: upop_set_envelope_from's address, else the message's Sender address, else the
 *  first address of its From. Refused recipients are reported as for Send (GetRecipientDetails
 *  lists explicit recipients as To); the message's header is not changed for them.
 *  Size (MaxSize, SIZE): the message's bytes as given, less a removed Bcc field.
 *  8BITMIME: declared (BODY=8BITMIME) whenever the server offers it.
 *  Integrity: a file that changes while it is sent (size or modification time) ends the send
 *  before the final dot, as for a changed attachment of Send.
 *  Returns: 0; >0 the number of refused recipients (IgnoreRcptError); -2 a bad option or value, a
 *  malformed address in recipients or in the message's To, Cc, Bcc, Sender or From (the
 *  sentence names the field), a NUL byte in the message's header section, an address the
 *  server cannot take (non-ASCII without SMTPUTF8), or the server refused the sender, every
 *  recipient, or without IgnoreRcptError any recipient (nothing was sent); -4 time-out or
 *  upop_cancel (after the final dot the message may have been delivered); -6 larger than MaxSize
 *  or the server's SIZE, options or recipients over 10240 bytes, or (recipients "" or no
 *  envelope sender set) a header section that does not end within its first 262144 bytes; -8 not
 *  logged on; -9 network; -10 h is NULL, message is NULL with len > 0, the server refused DATA,
 *  a BDAT chunk or the message, or the progress callback stopped it; -12 no recipient (recipients
 *  "" and no address in To, Cc and Bcc), or no envelope sender (none set, and no address in
 *  Sender or From); -13 upop_send_raw_file: no path, or the file cannot be opened or read, is
 *  not a regular file, or changed while it was sent; -15 server quota (452/552); -18 memory. */
UPOP_API int upop_send_raw(upop *h, const void *message, size_t len, const char *recipients,
                           const char *options);
UPOP_API int upop_send_raw_file(upop *h, const char *path, const char *recipients, const char *options);
/** SendMail: the legacy one-shot plain-text send; logs on and off around the send when no SMTP
 *  session is open (then server is the connection string, with the security context of SMTP).
 *  header_list: a GOLD list (UPOP_SEP only) of LABEL=value with the case-sensitive labels TO
 *  and FROM (both required), CC, BCC, SUBJECT, PRIORITY (1-5) and REPLY (the reply address);
 *  text: the plain-text body; att_list: a GOLD list of attachment file paths; mail_size: the
 *  largest message allowed, 0 for no limit.
 *  Returns: 0; -2 a bad header label, value or address (the sentence names the label), MailSize
 *  negative, or the server refused the sender or a recipient; -4 time-out or upop_cancel; -6
 *  header or attachment list over 10240 bytes, or the message larger than mail_size or the
 *  server's SIZE; -7 a mandatory driver is not supported by the server; -8 the security context
 *  could not be established; -9 network, bad host name or connection string, or an unusable TLS
 *  configuration; -10 h is NULL, the server refused DATA or the message, or the progress
 *  callback stopped it; -12 TO or FROM missing; -13 an attachment cannot be opened; -15 server
 *  quota; -18 memory. */
UPOP_API int upop_send_mail(upop *h, const char *server, const char *header_list, const char *text,
                            const char *att_list, int64_t mail_size);
/** ClearMail: forgets header fields (the extra ones of upop_add_header and an explicit
 *  Message-ID too), the envelope sender, bodies, attachments and recipient details.
 *  Returns: 0; -10 h is NULL. */
UPOP_API int upop_clear_mail(upop *h);

/* ------------------------------------------------------------------ receiving */

/** ListMail / ListMailX: the GOLD list of NMB, ID, FROM, SUBJECT, DATE, PRIORITY, SIZE, UIDL per
 *  message (UIDL when the server has UIDL and its line for the message is well-formed, see
 *  upop_find_uidl; a malformed line leaves only that UIDL out). FROM, SUBJECT, DATE and PRIORITY come from TOP n 0; on a server without TOP (it is
 *  optional in RFC 1939: CAPA does not list it, or the server refuses it) every message is still
 *  listed, with those fields empty and PRIORITY as for a message without one. When it does not fit, -16 and upop_list_mail_x gives the next parts, the last one
 *  with the number of messages.
 *  Returns: >=0 the number of messages; -4 time-out or upop_cancel; -8 not logged on; -9
 *  network; -10 h is NULL, the buffer cannot hold the next character (see the conventions), or
 *  upop_list_mail_x with nothing pending (no earlier upop_list_mail output is left: it was
 *  handed out completely, there was none, or LogonMail/LogoffMail discarded it); -11 the server
 *  refused the listing or it is beyond bounds; -16 call upop_list_mail_x for the next part; -18
 *  memory. */
UPOP_API int upop_list_mail(upop *h, char *list_info, size_t cap);
UPOP_API int upop_list_mail_x(upop *h, char *list_info, size_t cap);
/** GetMail / GetMailX: fetches message msg_nr (mail_size > 0: at most that many bytes, else -6)
 *  and decodes it. header_list: ID, TO, FROM, SUBJECT, DATE, PRIORITY, CC, REPLY (RFC 2047
 *  decoded, GOLD-separated). text: the first text/plain part that is not an attachment, in UTF-8.
 *  Every other part (HTML body, inline objects, attachments, attached messages) is written into
 *  the existing directory att_loc under a safe file name (no path, no "..", no control or device
 *  names; never overwriting: an existing name gives "name (2).ext" and warning 3; each file is
 *  created with mode 0600, readable by the user alone, whatever the umask), and att_list
 *  lists the names as written, GOLD-separated. When an output does not fit, -16:
 *  upop_get_mail_x gives the next parts of all three outputs, the last ones with the final
 *  status (and the warnings' sentence).
 *  Returns: 0; 1 warning: a part could not be decoded (written as received); 2 warning: a part
 *  could not be written (att_loc missing or empty); 3 warning: duplicate name; -4 time-out or
 *  upop_cancel; -6 larger than mail_size; -7 no such message; -8 not logged on; -9 network;
 *  -10 h is NULL, a buffer cannot hold its output's next character, upop_get_mail_x with no
 *  earlier upop_get_mail output pending, or the progress callback stopped it; -11 the server
 *  refused the message or it is beyond the parser's bounds; -16 an output did not fit: call
 *  upop_get_mail_x; -17 the text's charset is not supported (nothing written); -18 memory. */
UPOP_API int upop_get_mail(upop *h, int32_t msg_nr, const char *att_loc, int64_t mail_size,
                           char *header_list, size_t header_cap, char *text, size_t text_cap,
                           char *att_list, size_t att_cap);
UPOP_API int upop_get_mail_x(upop *h, char *header_list, size_t header_cap, char *text,
                             size_t text_cap, char *att_list, size_t att_cap);
/** GetRawMail / GetRawMailX: the message as the server sends it (CRLF lines, dot-unstuffed,
 *  terminator removed), unconverted; -16 continues with upop_get_raw_mail_x.
 *  Returns: 0; -4 time-out or upop_cancel; -6 larger than mail_size (> 0); -7 no such message;
 *  -8 not logged on; -9 network; -10 h is NULL, the buffer cannot hold the next character,
 *  upop_get_raw_mail_x with no earlier output pending, or the progress callback stopped it; -11
 *  the server refused RETR; -16 call upop_get_raw_mail_x for the next part; -18 memory. */
UPOP_API int upop_get_raw_mail(upop *h, int32_t msg_nr, int64_t mail_size, char *message, size_t cap);
UPOP_API int upop_get_raw_mail_x(upop *h, char *message, size_t cap);
/** Retrieve (0.2): streams messages to fn as they arrive, without holding any message whole:
 *  memory stays flat (a read buffer of about 64 KiB) whatever the message sizes.
 *  msg_nrs: count message numbers, retrieved and handed out in that order (a number may
 *  repeat); msg_nrs NULL with count 0: every message of the mailbox, in the order of one LIST;
 *  msg_nrs not NULL with count 0: nothing to do (0). With UPOP_RETRIEVE_HEADERS in flags each
 *  message is asked with "TOP n 0" (its header and the empty line after it) instead of RETR.
 *  When the server offers PIPELINING (CAPA) the commands are pipelined, at most 32 outstanding
 *  at a time; else they go one at a time. Sizes come from one LIST (never LIST n per message),
 *  asked only for msg_nrs NULL or when a progress callback is set: upop_set_progress then sees
 *  the bytes handed out so far over the LIST total of the messages asked, and a non-zero return
 *  from it stops the call as fn's does.
 *  fn(user, msg_nr, data, len, end_of_message): data is the message as the server stores it,
 *  dot-unstuffed, each line ending in CRLF (a bare LF is given as CRLF), NUL bytes as they are,
 *  in chunks of any size (len > 0) that point into the library's buffer and are valid only
 *  during the call; after a message's last chunk, one call with len 0 and end_of_message 1.
 *  fn returns 0 to go on; non-zero stops the call, which returns -10: no more commands are
 *  sent, and the responses already asked for (at most the 32 of the window, each as long as its
 *  message) are read to their end without calling fn again, so the session stays usable.
 *  A message the server refuses (-ERR to RETR or TOP: no such message, deleted in this
 *  session), or after a LIST a number that LIST does not show, is skipped: fn is not called for
 *  it, the other messages are still handed out, and the call then returns -11 (refused) or -7
 *  (not in LIST), with a sentence naming the first such message and how many there were.
 *  A message of more than 268435456 bytes (or a line of more than 1 MiB) ends the call with
 *  -11 (-9 for the line) and closes the connection, as a time-out, upop_cancel and a network
 *  failure do; the next call on the session then returns -8.
 *  Returns: 0; -2 flags has a bit other than UPOP_RETRIEVE_HEADERS; -4 time-out or upop_cancel
 *  (connection closed); -7 a message number below 1 (nothing was retrieved), or one that LIST
 *  does not show (the others were handed out); -8 not logged on; -9 network, or a server that
 *  broke the protocol; -10 h or fn is NULL, msg_nrs is NULL with count > 0, count over 1000000,
 *  or fn or the progress callback stopped the call; -11 the server refused a message (the
 *  others were handed out) or the LIST, or a message over 268435456 bytes; -18 memory. */
enum { UPOP_RETRIEVE_HEADERS = 1 };
typedef int (*upop_chunk_fn)(void *user, int32_t msg_nr, const char *data, size_t len,
                             int end_of_message);
UPOP_API int upop_retrieve(upop *h, const int32_t *msg_nrs, size_t count, int flags,
                           upop_chunk_fn fn, void *user);
/** DeleteMail: sends DELE; the server removes the message at LogoffMail (QUIT), not when the
 *  connection is lost.
 *  Returns: 0; -4 time-out or upop_cancel; -7 no such message; -8 not logged on; -9 network;
 *  -10 h is NULL; -18 memory. */
UPOP_API int upop_delete_mail(upop *h, int32_t msg_nr);
/** FindUIDL (0.2): the message number, in this POP session, of the message whose unique-id
 *  (UIDL, RFC 1939 section 7) is uidl. Numbers change between sessions when messages are
 *  deleted; unique-ids do not: keep the UIDL, look the number up in each session. The server's
 *  UIDL listing is asked once per session and kept (a DELE drops its entry, RSET and a new
 *  LogonMail ask again). *msg_nr is 0 unless the call returns 0. The listing must be
 *  well-formed: every line "nr unique-id", each number once, each unique-id 1 to 70
 *  characters 0x21..0x7E and unique; otherwise -11, whichever message is asked for.
 *  Returns: 0; -2 uidl is NULL or empty, longer than 70 bytes, or has a character outside
 *  0x21..0x7E; -4 time-out or upop_cancel (the connection is closed); -7 no message with that
 *  unique-id is in the mailbox (or it was deleted in this session); -8 not logged on; -9
 *  network, or a server that broke the protocol; -10 h or msg_nr is NULL; -11 the server
 *  refused UIDL (it does not support unique-ids), or its listing is malformed (the sentence
 *  names the first faulty line) or over 64 MiB; -18 memory. */
UPOP_API int upop_find_uidl(upop *h, const char *uidl, int32_t *msg_nr);

/* ------------------------------------------------------------------ diagnostics */

/** GetSMTPResponse: the last reply of the last SMTP exchange (LogonSMTP, LogoffSMTP, Send,
 *  SendMail, upop_noop, upop_reset): code and text, 0 and "" when there was none. After a failed Send it is that
 *  Send's last reply (for refused recipients the first refusal), never an earlier exchange's.
 *  The lines of a multi-line reply are joined by '\n'; other control characters the server sent
 *  are removed. reply_code may be NULL.
 *  Returns: 0; -10 h is NULL, or the buffer cannot hold the first character; -16 the text was
 *  truncated; -18 memory. */
UPOP_API int upop_get_smtp_response(upop *h, int32_t *reply_code, char *reply_message, size_t cap);

/** GetRecipientDetails: for the last Send, per refused address of To/Cc/Bcc the items
 *  "address=code" and the reply text, GOLD-separated.
 *  Returns: 0; -10 h is NULL, or a buffer cannot hold its first character; -16 truncated; -18
 *  memory. */
UPOP_API int upop_get_recipient_details(upop *h, char *to, size_t to_cap, char *cc, size_t cc_cap,
                                        char *bcc, size_t bcc_cap);

/* ------------------------------------------------------------------ beyond the UPOPMAIL component */

/** Handle options by name:
 *   "timeout_ms"      the time rules of every blocking call, in ms (default 60000; 1..86400000):
 *                     connecting, the TLS handshake, each command write, and each whole reply
 *                     (the greeting, every command reply including multi-line ones such as EHLO
 *                     and CAPA, the reply after the end of DATA) must each finish within
 *                     timeout_ms, however slowly the server sends its bytes. Bulk transfers
 *                     (RETR/TOP bodies, LIST/UIDL listings, the DATA content) instead end when
 *                     fewer than low_speed_bytes bytes move in any window of timeout_ms (counted
 *                     from the transfer's start, window after window: curl's speed-limit rule).
 *                     A broken rule returns -4 and closes that connection.
 *   "low_speed_bytes" the low-speed limit of bulk transfers: bytes per timeout_ms window
 *                     (default 1024; 1..1073741824)
 *   "allow_plaintext" "true"/"false": allow POP USER/PASS without TLS or over TLS whose server
 *                     certificate was not verified or not checked against the host name
 *                     (verify_server=no, verify_server_name=no) (default false)
 *   "ehlo_domain"     the EHLO argument (default: this host's name, or "localhost")
 *   "config"          path of the JSON configuration with TLS profiles (default: the
 *                     UPOPMAIL_CONFIG environment variable, which is ignored in set-uid and
 *                     set-gid programs): {"default": P, "profiles":
 *                     {"name": P, ...}}, each P a JSON object of TLS options
 *                     (a name is never digits alone: "host:995" is a port)
 *                     ({"verify_server": "yes", "client_key_password": "..."}) or the
 *                     UPOPMAIL component's option string ("verify_server=yes,
 *                     ca_certificate=ca.pem").
 *                     Give a client_key_password in the JSON object form: in the option
 *                     string a value cannot contain ','. The file is read and checked at
 *                     once: a missing, unreadable or invalid file is -2. It is read again at
 *                     each connect, where a file that has become unusable is -9 (upop_connect).
 *                     Its errors name options and positions, never values.
 *  Returns: 0; -2 unknown option or bad value (the sentence says which); -10 h is NULL; -18
 *  memory. */
UPOP_API int upop_set_option(upop *h, const char *name, const char *value);

/** Protocol trace: every line sent ('>'), received ('<') and every event ('*'), with secrets
 *  redacted before the callback sees them. server is UPOP_SMTP or UPOP_POP. The line has no
 *  CRLF, is valid UTF-8 with control characters escaped (as in sentences), and is valid only
 *  during the call. fn NULL switches the trace off. The environment
 *  variable UPOPMAIL_TRACE=FILE appends the same trace to a file for every handle: the file is
 *  created with mode 0600 and never opened through a symbolic link; the variable is ignored in
 *  set-uid and set-gid programs.
 *  Returns: 0; -10 h is NULL. */
typedef void (*upop_trace_fn)(void *user, int server, char direction, const char *line);
UPOP_API int upop_set_trace(upop *h, upop_trace_fn fn, void *user);

/** Progress of Send / GetMail / GetRawMail in bytes (total 0 when unknown); a non-zero return
 *  from fn cancels the operation (-10). fn NULL switches it off.
 *  Returns: 0; -10 h is NULL. */
typedef int (*upop_progress_fn)(void *user, int64_t done, int64_t total);
UPOP_API int upop_set_progress(upop *h, upop_progress_fn fn, void *user);

/** Callable from any thread: the blocking call in progress on h returns promptly with -4 and
 *  closes its connection. When no call is blocking, the next blocking call on h is the one that
 *  ends; a cancellation is consumed by the call it ended. Unlike every other call it leaves
 *  upop_last_error(h) as it was (the blocking call on another thread may be writing it).
 *  Returns: 0; -10 h is NULL (the sentence is upop_last_error(NULL)). */
UPOP_API int upop_cancel(upop *h);

/* ------------------------------------------------------------------ driver registry */

/** Adds a directory that the registry scans for driver manifests (*.json), before
 *  UPOPMAIL_DRIVER_PATH and the install directory. The search path is: these directories,
 *  the absolute entries of UPOPMAIL_DRIVER_PATH (':'-separated; relative entries are skipped and
 *  listed as rejected; the variable is ignored in set-uid and set-gid programs), LIBDIR/upopmail/
 *  drivers beside the library (resolved to an absolute path when the library is loaded, so a
 *  later chdir changes nothing), the install directory. A directory, manifest or library that
 *  group or others may write is not trusted: it is skipped and listed as rejected. The sentence
 *  of a failure is upop_last_error(NULL).
 *  Returns: 0; -2 empty (or NULL), relative, longer than 4096 bytes, with a control character,
 *  missing, or not a directory; -10 an internal error; -18 memory. */
UPOP_API int upop_registry_add_path(const char *dir);

/** What the registry found: a JSON document {"drivers":[...],"rejected":[{"file","reason"}],
 *  "paths":[...]}, always valid UTF-8: in a path, file name or reason that is not, every byte
 *  that starts no well-formed UTF-8 sequence is shown as U+FFFD. The caller frees it with
 *  upop_free. NULL on memory failure. */
UPOP_API char *upop_drivers_json(void);

/** Frees what the library allocated for the caller (upop_drivers_json). NULL is ignored. */
UPOP_API void upop_free(void *p);

#ifdef __cplusplus
}
#endif
#endif /* UPOPMAIL_H */

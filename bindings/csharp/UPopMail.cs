// UPopMail.cs -- C# binding of the upopmail component (SMTP sending, POP3 receiving) over
// P/Invoke to libupopmail.so, using only the C ABI of api/upopmail.h.
//
//   using (var mail = new UPopMail()) {
//       mail.UseCaCertificate("/path/ca.crt");
//       mail.SetSecurity("SMTP=STARTTLS");
//       mail.SetSecurity("SMTP=AUTH PLAIN", new Dictionary<string, string> {
//           { "user", "me" }, { "password", secret } });
//       mail.LogonSmtp("localhost+587");
//       mail.SetFrom("me@example.org"); mail.SetTo("you@example.org");
//       mail.SetSubject("Hi"); mail.SetMessage("Hello");
//       mail.Send();
//   }
//
// Failures throw UPopMailException or the subclass that says what kind of failure it is
// (AuthenticationException, TlsException, RecipientsRefusedException, UPopMailTimeoutException,
// CancelledException, ProtocolException; the same mapping as the Python binding). GOLD lists (byte
// 0x1B) are hidden behind lists and dictionaries, and the -16 continuation of the long outputs is
// done here. The async methods (LogonSmtpAsync, LogonPopAsync, SendAsync, GetRawMailAsync,
// FetchAsync...) run the blocking call on the thread pool, one at a time per instance, and cancel
// it with upop_cancel when their CancellationToken is cancelled (OperationCanceledException).
//
// The library is loaded by its SONAME libupopmail.so.1 through the runtime's loader: install it
// (cmake --install + ldconfig, or the Debian package libupopmail1) or set LD_LIBRARY_PATH to the
// directory that holds it; on Mono a <dllmap dll="libupopmail.so.1" target="/path/libupopmail.so.1"/>
// in the program's .config redirects it. When it cannot be found, the first call throws
// UPopMailLibraryNotFoundException (a DllNotFoundException) saying where it looked and what to do.
//
// Dispose logs off (QUIT) and frees; an instance that is never disposed is freed by the finalizer
// of its UPopMailHandle without any network I/O (see UPopMailHandle).
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Upopmail
{
    /// <summary>A failed upopmail operation: the base of every exception of the binding. The class
    /// is picked by UPopMailException.ClassOf from the status, the sentence and the SMTP reply, the
    /// same mapping as the Python binding's error_class:
    ///   -4 "... cancelled" CancelledException, other -4 UPopMailTimeoutException;
    ///   -8 "not logged on" UPopMailException; SMTP reply 530/534/535/538 or "refused the
    ///      credentials" AuthenticationException; naming TLS TlsException; else ProtocolException;
    ///   -2 "refused the logon"/"refused the credentials" AuthenticationException; a refused
    ///      recipient RecipientsRefusedException (with the addresses); other -2 UPopMailException;
    ///   -7, -9 naming TLS or STARTTLS/STLS TlsException;
    ///   -10 a callback that cancelled/stopped CancelledException, an SMTP reply >= 400
    ///      ProtocolException; -11 ProtocolException; the rest UPopMailException.</summary>
    public class UPopMailException : Exception
    {
        /// <summary>The negative status code (overloaded per operation, see upopmail.h).</summary>
        public int Status { get; private set; }
        /// <summary>The usual name of the code, e.g. "E_SECURITY".</summary>
        public string StatusName { get; private set; }
        /// <summary>upop_last_error: what failed, in words (never a secret).</summary>
        public string Sentence { get; private set; }
        /// <summary>The method that failed, e.g. "LogonSmtp".</summary>
        public string Operation { get; private set; }
        /// <summary>For SMTP operations the server's last reply code (0 when none).</summary>
        public int ReplyCode { get; private set; }
        /// <summary>For SMTP operations the server's last reply text.</summary>
        public string ReplyText { get; private set; }

        public UPopMailException(string operation, int status, string sentence, int replyCode, string replyText)
            : base(Format(operation, status, sentence, replyCode, replyText))
        {
            Operation = operation;
            Status = status;
            StatusName = UPopMail.StatusName(status);
            Sentence = sentence;
            ReplyCode = replyCode;
            ReplyText = replyText ?? "";
        }

        static string Format(string operation, int status, string sentence, int code, string text)
        {
            string s = string.Format("{0} failed: {1} {2}: {3}", operation, status, UPopMail.StatusName(status),
                                     string.IsNullOrEmpty(sentence) ? "(no details)" : sentence);
            if (code != 0) s += string.Format(" (server: {0} {1})", code, text);
            return s;
        }

        static readonly int[] AuthReplies = { 530, 534, 535, 538 };

        static bool MentionsTls(string sentence)
        {
            string s = (sentence ?? "").ToLowerInvariant();
            foreach (string w in new[] { "tls", "certificate", "handshake", "'starttls'", "'stls'", "would send credentials" })
                if (s.Contains(w)) return true;
            return false;
        }

        /// <summary>The exception class for a status, its sentence and the last SMTP reply (see the
        /// class summary; the Python binding's error_class).</summary>
        public static Type ClassOf(int status, string sentence, int replyCode)
        {
            string s = (sentence ?? "").ToLowerInvariant();
            switch (status) {
            case -4:
                return s.Contains("cancelled") ? typeof(CancelledException) : typeof(UPopMailTimeoutException);
            case -8:
                if (s.Contains("not logged on")) return typeof(UPopMailException);
                if (Array.IndexOf(AuthReplies, replyCode) >= 0 || s.Contains("refused the credentials"))
                    return typeof(AuthenticationException);
                return MentionsTls(sentence) ? typeof(TlsException) : typeof(ProtocolException);
            case -2:
                if (s.Contains("refused the logon") || s.Contains("refused the credentials"))
                    return typeof(AuthenticationException);
                if (s.Contains("recipient") && s.Contains("refused")) return typeof(RecipientsRefusedException);
                return typeof(UPopMailException);
            case -7:
            case -9:
                return MentionsTls(sentence) ? typeof(TlsException) : typeof(UPopMailException);
            case -10:
                if (s.Contains("callback") && (s.Contains("cancelled") || s.Contains("stopped")))
                    return typeof(CancelledException);
                return replyCode >= 400 ? typeof(ProtocolException) : typeof(UPopMailException);
            case -11:
                return typeof(ProtocolException);
            default:
                return typeof(UPopMailException);
            }
        }

        /// <summary>The exception of ClassOf's class; refused: the refused recipients (for
        /// RecipientsRefusedException).</summary>
        public static UPopMailException Create(string operation, int status, string sentence, int replyCode,
                                               string replyText, IList<RefusedRecipient> refused = null)
        {
            Type t = ClassOf(status, sentence, replyCode);
            if (t == typeof(CancelledException)) return new CancelledException(operation, status, sentence, replyCode, replyText);
            if (t == typeof(UPopMailTimeoutException))
                return new UPopMailTimeoutException(operation, status, sentence, replyCode, replyText);
            if (t == typeof(AuthenticationException))
                return new AuthenticationException(operation, status, sentence, replyCode, replyText);
            if (t == typeof(TlsException)) return new TlsException(operation, status, sentence, replyCode, replyText);
            if (t == typeof(ProtocolException)) return new ProtocolException(operation, status, sentence, replyCode, replyText);
            if (t == typeof(RecipientsRefusedException))
                return new RecipientsRefusedException(operation, status, sentence, replyCode, replyText, refused);
            return new UPopMailException(operation, status, sentence, replyCode, replyText);
        }
    }

    /// <summary>The server refused the credentials (SMTP 535 and friends, POP -ERR to USER/PASS or AUTH).</summary>
    public class AuthenticationException : UPopMailException
    {
        public AuthenticationException(string operation, int status, string sentence, int replyCode, string replyText)
            : base(operation, status, sentence, replyCode, replyText) { }
    }

    /// <summary>TLS could not be established (handshake, certificate, STARTTLS missing) or is required
    /// before credentials may be sent.</summary>
    public class TlsException : UPopMailException
    {
        public TlsException(string operation, int status, string sentence, int replyCode, string replyText)
            : base(operation, status, sentence, replyCode, replyText) { }
    }

    /// <summary>The server refused recipients, so nothing was sent; Refused lists them
    /// (upop_get_recipient_details), Addresses the addresses alone.</summary>
    public class RecipientsRefusedException : UPopMailException
    {
        public IList<RefusedRecipient> Refused { get; private set; }
        public IList<string> Addresses
        {
            get { var a = new List<string>(); foreach (var r in Refused) a.Add(r.Address); return a; }
        }
        public RecipientsRefusedException(string operation, int status, string sentence, int replyCode, string replyText,
                                          IList<RefusedRecipient> refused)
            : base(operation, status, sentence, replyCode, replyText)
        {
            Refused = refused ?? new List<RefusedRecipient>();
        }
    }

    /// <summary>A network time-out (-4): the connection is closed. (Not System.TimeoutException,
    /// whose name it would clash with.)</summary>
    public class UPopMailTimeoutException : UPopMailException
    {
        public UPopMailTimeoutException(string operation, int status, string sentence, int replyCode, string replyText)
            : base(operation, status, sentence, replyCode, replyText) { }
    }

    /// <summary>upop_cancel (Cancel) ended the call (-4), or a progress or chunk callback stopped it
    /// (-10). The async methods turn a cancellation by their CancellationToken into an
    /// OperationCanceledException instead: the task ends Canceled, as .NET code expects, and
    /// `await` throws OperationCanceledException (on Mono a TaskCanceledException without an
    /// InnerException); the CancelledException stays readable as LastException.</summary>
    public class CancelledException : UPopMailException
    {
        public CancelledException(string operation, int status, string sentence, int replyCode, string replyText)
            : base(operation, status, sentence, replyCode, replyText) { }
    }

    /// <summary>The server's replies do not let the operation go on (a failed security protocol at
    /// logon, DATA or the message refused, a listing or message the server refused).</summary>
    public class ProtocolException : UPopMailException
    {
        public ProtocolException(string operation, int status, string sentence, int replyCode, string replyText)
            : base(operation, status, sentence, replyCode, replyText) { }
    }

    /// <summary>libupopmail could not be loaded; the message says where the runtime looked and what
    /// to do. A DllNotFoundException, so code that caught that still does.</summary>
    public class UPopMailLibraryNotFoundException : DllNotFoundException
    {
        public UPopMailLibraryNotFoundException(DllNotFoundException inner) : base(Help(inner), inner) { }

        static string Help(DllNotFoundException inner)
        {
            string ld = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            return "libupopmail could not be loaded (" + inner.Message + "). The runtime's loader looked for "
                + "libupopmail.so.1 (DllImport \"libupopmail.so.1\"; on Mono a <dllmap> in the program's .config "
                + "can redirect it) in LD_LIBRARY_PATH (" + (string.IsNullOrEmpty(ld) ? "not set" : ld) + "), the "
                + "loader's cache (/etc/ld.so.cache: /lib, /usr/lib and the directories of /etc/ld.so.conf.d) and "
                + "the default directories. To fix it: install the library, e.g. `cmake --install build --prefix "
                + "/usr/local` then `sudo ldconfig` (the prefix's lib directory must be in the loader's "
                + "configuration), or the Debian package libupopmail1 (sudo apt-get install ./libupopmail1_*.deb); "
                + "or point LD_LIBRARY_PATH at the directory of libupopmail.so.1 (the drivers are found beside it, or set UPOPMAIL_DRIVER_PATH).";
        }
    }

    /// <summary>One driver of a security context, as GetSecurity describes it.</summary>
    public class SecurityDriver
    {
        public string Properties;                       // as given to SetSecurity (';' for GOLD)
        public Dictionary<string, string> RuntimeInfo;  // INUSE=TRUE|FALSE and the driver's items
        public bool InUse { get { string v; return RuntimeInfo.TryGetValue("INUSE", out v) && v == "TRUE"; } }
    }

    /// <summary>What GetMail returns.</summary>
    public class MailMessage
    {
        public Dictionary<string, string> Headers;  // ID, TO, FROM, SUBJECT, DATE, PRIORITY, CC, REPLY
        public string Text;                         // the plain-text body
        public List<string> Attachments;            // the files written
        public int Status;                          // 0, or the warning 1, 2 or 3
    }

    /// <summary>A refused recipient of the last Send.</summary>
    public class RefusedRecipient
    {
        public string Address;
        public int ReplyCode;
        public string ReplyText;
        public override string ToString() { return Address + "=" + ReplyCode + " " + ReplyText; }
    }

    /// <summary>Callback for the protocol trace: server "SMTP" or "POP", direction '&gt;' sent, '&lt;'
    /// received or '*' an event; secrets are redacted by the library.</summary>
    public delegate void TraceHandler(string server, char direction, string line);

    /// <summary>Callback for transfer progress in bytes (total 0 when unknown); return false to cancel.</summary>
    public delegate bool ProgressHandler(long done, long total);

    /// <summary>The session Noop and Reset act on.</summary>
    public enum MailServer { Smtp = 1, Pop = 2 }

    /// <summary>The native handle (upop *). Releasing it never does network I/O, wherever it happens
    /// (the finalizer thread included): upop_destroy would log off (QUIT on each open session, up to
    /// timeout_ms each), so ReleaseHandle first switches the trace and progress callbacks off (their
    /// delegates may already be collected when the finalizer runs) and calls upop_cancel, whose
    /// pending cancellation makes the QUIT of upop_destroy fail before a byte is written (and skips
    /// the TLS close_notify); upop_destroy then only closes the sockets and frees the memory.
    /// UPopMail.Dispose logs off properly before it releases the handle.</summary>
    public sealed class UPopMailHandle : SafeHandle
    {
        public UPopMailHandle() : base(IntPtr.Zero, true) { }

        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        protected override bool ReleaseHandle()
        {
            UPopMail.Native.upop_set_trace_raw(handle, IntPtr.Zero, IntPtr.Zero);
            UPopMail.Native.upop_set_progress_raw(handle, IntPtr.Zero, IntPtr.Zero);
            UPopMail.Native.upop_cancel_raw(handle);
            UPopMail.Native.upop_destroy_raw(handle);
            return true;
        }
    }

    /// <summary>One upopmail component instance: an SMTP session, a POP3 session, a security context for
    /// each and the message being composed. Not for use by two threads at once (Cancel excepted): the
    /// C API allows one call at a time per handle. The async methods run the blocking call on the
    /// thread pool (Task.Run) and allow one of them at a time per instance (a second one while the
    /// first runs is an InvalidOperationException); do not call other methods until the task is done.
    /// Different instances may be used from different threads at once.</summary>
    public sealed class UPopMail : IDisposable
    {
        public const char Sep = '\x1b';
        const int Smtp = 1, Pop = 2, More = -16;
        const int Chunk = 1 << 20, DetailsMax = 102400;

        UPopMailHandle handle;
        string tmpDir;
        Native.TraceFn traceFn;      // kept alive while the library holds the pointer
        Native.ProgressFn progressFn;
        Exception callbackError;
        const int RetrieveHeaders = 1;

        static readonly string[] Names = {
            "OK", "E_INIT", "E_PARAM", "E_ACTIVE", "E_TIMEOUT", "E_ENTRY", "E_SIZE", "E_UNSUPPORTED",
            "E_SECURITY", "E_NETWORK", "E_MISC", "E_RETRIEVAL", "E_MISSING", "E_FILE", "E_MIME",
            "E_QUOTA", "E_MORE", "E_CHARSET", "E_MEMORY" };

        public static string StatusName(int status)
        {
            return status <= 0 && -status < Names.Length ? Names[-status] : "E_" + status;
        }

        public UPopMail()
        {
            EnsureLibrary();
            int rc = Native.upop_create(out handle);
            if (rc != 0) throw UPopMailException.Create("Create", rc, FromUtf8(Native.upop_last_error_global(IntPtr.Zero)), 0, "");
        }

        // -------------------------------------------------------------- library

        static volatile bool loaded;

        /// <summary>Loads libupopmail at the first use; a DllNotFoundException becomes a
        /// UPopMailLibraryNotFoundException that says where the loader looked and what to do.</summary>
        static void EnsureLibrary()
        {
            if (loaded) return;
            try {
                Native.upop_abi_version();
            } catch (DllNotFoundException e) {
                throw new UPopMailLibraryNotFoundException(e);
            }
            loaded = true;
        }

        public static string Version { get { EnsureLibrary(); return FromUtf8(Native.upop_version()); } }
        public static int AbiVersion { get { EnsureLibrary(); return Native.upop_abi_version(); } }
        /// <summary>upop_strerror: the general meaning of a status code, as an English sentence.</summary>
        public static string StrError(int status) { EnsureLibrary(); return FromUtf8(Native.upop_strerror(status)); }

        /// <summary>What the driver registry found, as its JSON document
        /// {"drivers":[...],"rejected":[...],"paths":[...]}.</summary>
        public static string DriversJson()
        {
            EnsureLibrary();
            IntPtr p = Native.upop_drivers_json();
            if (p == IntPtr.Zero) throw new OutOfMemoryException("upop_drivers_json");
            try { return FromUtf8(p); } finally { Native.upop_free(p); }
        }

        /// <summary>Adds a directory (an absolute path) the registry scans for driver manifests.</summary>
        public static void RegistryAddPath(string dir)
        {
            EnsureLibrary();
            int rc = Native.upop_registry_add_path(Utf8(dir));
            if (rc != 0) throw UPopMailException.Create("RegistryAddPath", rc, FromUtf8(Native.upop_last_error_global(IntPtr.Zero)), 0, "");
        }

        // -------------------------------------------------------------- lifecycle

        /// <summary>Logs off properly (LogoffSmtp and LogoffPop when logged on: QUIT, which commits the
        /// POP deletions, each bounded by timeout_ms), then frees the instance. It never throws: call
        /// LogoffPop first to learn whether the deletions were committed. Without Dispose, the
        /// finalizer of the UPopMailHandle only frees: no QUIT, no network I/O on the finalizer
        /// thread (and POP deletions are then not committed).</summary>
        public void Dispose()
        {
            if (handle != null && !handle.IsClosed) {
                // -8 (not logged on) and failures of QUIT are of no use here: Dispose does not throw
                try {
                    Native.upop_disconnect(handle, Smtp);
                    Native.upop_disconnect(handle, Pop);
                } catch (ObjectDisposedException) {
                }
                handle.Dispose();
            }
            if (tmpDir != null) {
                try { Directory.Delete(tmpDir, true); } catch (IOException) { }
                tmpDir = null;
            }
        }

        UPopMailHandle H
        {
            get {
                if (handle == null || handle.IsClosed) throw new ObjectDisposedException("UPopMail");
                return handle;
            }
        }

        /// <summary>upop_last_error: the sentence of the last failure ("" after a success).</summary>
        public string LastError { get { return FromUtf8(Native.upop_last_error(H)); } }

        // The one path from a status to an exception: UPopMailException.Create picks the class.
        int Check(string operation, int rc, bool smtp = false)
        {
            Exception pending = callbackError;
            callbackError = null;
            if (rc >= 0) {
                if (pending != null)
                    throw UPopMailException.Create(operation, -10, "a callback failed: " + pending.Message, 0, "");
                return rc;
            }
            string sentence = FromUtf8(Native.upop_last_error(handle));
            int code = 0;
            string text = "";
            if (smtp) SmtpResponse(out code, out text);
            if (pending != null) sentence += " (a callback failed: " + pending.Message + ")";
            List<RefusedRecipient> refused = null;
            if (UPopMailException.ClassOf(rc, sentence, code) == typeof(RecipientsRefusedException)) {
                refused = new List<RefusedRecipient>();
                try {
                    foreach (var list in RecipientDetails().Values) refused.AddRange(list);
                } catch (UPopMailException) {
                }
            }
            LastException = UPopMailException.Create(operation, rc, sentence, code, text, refused);
            throw LastException;
        }

        /// <summary>The last exception a method of this instance threw (null before any): after an
        /// async method was cancelled by its token, the CancelledException with the library's
        /// sentence (LastError is reset by the calls that follow a failure, such as the reading of
        /// the SMTP reply).</summary>
        public UPopMailException LastException { get; private set; }

        // -------------------------------------------------------------- options and callbacks

        /// <summary>upop_set_option: timeout_ms, low_speed_bytes, allow_plaintext, ehlo_domain, config.</summary>
        public void SetOption(string name, string value)
        {
            Check("SetOption", Native.upop_set_option(H, Utf8(name), Utf8(value)));
        }

        /// <summary>Trusts this CA certificate (PEM) for TLS: writes a TLS configuration whose default
        /// profile names it and hands it over with the option "config".</summary>
        public void UseCaCertificate(string path)
        {
            if (tmpDir == null) {
                tmpDir = Path.Combine(Path.GetTempPath(), "upopmail-" + Guid.NewGuid().ToString("N"));
                Directory.CreateDirectory(tmpDir);
            }
            string config = Path.Combine(tmpDir, "tls.json");
            File.WriteAllText(config, "{\"default\": {\"ca_certificate\": " + Json(Path.GetFullPath(path)) + "}}\n");
            SetOption("config", config);
        }

        /// <summary>The protocol trace (secrets redacted by the library); null switches it off.</summary>
        public TraceHandler Trace
        {
            set {
                if (value == null) {
                    traceFn = null;
                    Check("Trace", Native.upop_set_trace(H, null, IntPtr.Zero));
                    return;
                }
                TraceHandler handler = value;
                traceFn = (user, server, direction, line) => {
                    try {
                        handler(server == Smtp ? "SMTP" : "POP", (char)direction, FromUtf8(line));
                    } catch (Exception e) {
                        if (callbackError == null) callbackError = e;
                    }
                };
                Check("Trace", Native.upop_set_trace(H, traceFn, IntPtr.Zero));
            }
        }

        /// <summary>Progress of Send, GetMail and GetRawMail; returning false (or throwing) cancels.</summary>
        public ProgressHandler Progress
        {
            set {
                if (value == null) {
                    progressFn = null;
                    Check("Progress", Native.upop_set_progress(H, null, IntPtr.Zero));
                    return;
                }
                ProgressHandler handler = value;
                progressFn = (user, done, total) => {
                    try {
                        return handler(done, total) ? 0 : 1;
                    } catch (Exception e) {
                        if (callbackError == null) callbackError = e;
                        return 1;
                    }
                };
                Check("Progress", Native.upop_set_progress(H, progressFn, IntPtr.Zero));
            }
        }

        /// <summary>From any thread: the blocking call in progress returns with -4.</summary>
        public void Cancel() { Native.upop_cancel(H); }

        // -------------------------------------------------------------- async

        int busy; // 1 while an async call runs on this instance

        /// <summary>Runs call on the thread pool; a cancellation of ct calls upop_cancel, and the
        /// CancelledException it causes becomes an OperationCanceledException for ct (the task ends
        /// Canceled; the CancelledException is LastException). A token cancelled before the
        /// call starts: the task is Canceled and nothing is sent. Other failures fault the task with
        /// the UPopMailException of the synchronous method. One async call at a time per instance.
        /// A cancellation that arrives just as the native call returns can stay pending in the
        /// library (upop_cancel): then the next blocking call on this instance ends with
        /// CancelledException at once.</summary>
        Task<T> RunAsync<T>(string operation, Func<T> call, CancellationToken ct)
        {
            UPopMailHandle hh = H;
            if (Interlocked.CompareExchange(ref busy, 1, 0) != 0)
                throw new InvalidOperationException(operation + ": another async call is running on this UPopMail "
                                                    + "(the C API allows one call at a time per handle)");
            var gate = new object();
            bool running = true;
            Task<T> work = Task.Run(() => {
                ct.ThrowIfCancellationRequested();
                using (ct.Register(() => {
                    lock (gate) {
                        if (!running) return;
                        try { Native.upop_cancel(hh); } catch (ObjectDisposedException) { }
                    }
                })) {
                    try {
                        return call();
                    } catch (CancelledException e) {
                        if (ct.IsCancellationRequested)
                            throw new OperationCanceledException(operation + " was cancelled: " + e.Sentence, e, ct);
                        throw;
                    } finally {
                        lock (gate) running = false;
                    }
                }
            }, ct);
            // busy is cleared before the caller's await resumes (and also when ct stopped the task
            // before it ran)
            return work.ContinueWith(t => { Interlocked.Exchange(ref busy, 0); return t; },
                                     CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously,
                                     TaskScheduler.Default).Unwrap();
        }

        Task RunAsync(string operation, Action call, CancellationToken ct)
        {
            return RunAsync<bool>(operation, () => { call(); return true; }, ct);
        }

        /// <summary>LogonSmtp on the thread pool; ct cancels it (upop_cancel).</summary>
        public Task LogonSmtpAsync(string connection, CancellationToken ct = default(CancellationToken))
        {
            return RunAsync("LogonSmtp", () => LogonSmtp(connection), ct);
        }

        /// <summary>LogonPop on the thread pool; ct cancels it (upop_cancel).</summary>
        public Task LogonPopAsync(string connection, string user = "", string password = "",
                                  CancellationToken ct = default(CancellationToken))
        {
            return RunAsync("LogonPop", () => LogonPop(connection, user, password), ct);
        }

        /// <summary>Send on the thread pool; ct cancels it (upop_cancel). Once the final dot is
        /// written the library still awaits the server's verdict (RFC 5321 4.5.3.2); a cancellation
        /// without it may leave the message delivered (the sentence says so).</summary>
        public Task<int> SendAsync(long maxSize = 0, bool ignoreRcptError = false, string notify = null,
                                   string ret = null, string envId = null,
                                   CancellationToken ct = default(CancellationToken))
        {
            return RunAsync("Send", () => Send(maxSize, ignoreRcptError, notify, ret, envId), ct);
        }

        /// <summary>Send with default options on the thread pool; ct cancels it.</summary>
        public Task<int> SendAsync(CancellationToken ct)
        {
            return SendAsync(0, false, null, null, null, ct);
        }

        /// <summary>SendRaw(byte[]) on the thread pool; ct cancels it.</summary>
        public Task<int> SendRawAsync(byte[] message, IEnumerable<string> recipients = null,
                                      CancellationToken ct = default(CancellationToken))
        {
            return RunAsync("SendRaw", () => SendRaw(message, recipients), ct);
        }

        /// <summary>ListMail on the thread pool; ct cancels it.</summary>
        public Task<List<Dictionary<string, string>>> ListMailAsync(CancellationToken ct = default(CancellationToken))
        {
            return RunAsync("ListMail", () => ListMail(), ct);
        }

        /// <summary>GetRawMail on the thread pool; ct cancels it.</summary>
        public Task<byte[]> GetRawMailAsync(int number, long mailSize = 0, CancellationToken ct = default(CancellationToken))
        {
            return RunAsync("GetRawMail", () => GetRawMail(number, mailSize), ct);
        }

        /// <summary>Fetch on the thread pool; ct cancels it.</summary>
        public Task<byte[]> FetchAsync(int number, CancellationToken ct = default(CancellationToken))
        {
            return RunAsync("Fetch", () => Fetch(number), ct);
        }

        // -------------------------------------------------------------- security context

        /// <summary>SetSecurity: appends a driver ("SMTP=STARTTLS", "POP=AUTH PLAIN", with ";USE=OPT" for an
        /// optional one; "SMTP=" clears the context) with its parameters (handed over as JSON).</summary>
        public void SetSecurity(string properties, IDictionary<string, string> parameters = null)
        {
            string p = "";
            if (parameters != null && parameters.Count > 0) {
                var sb = new StringBuilder("{");
                foreach (var kv in parameters) {
                    if (sb.Length > 1) sb.Append(", ");
                    sb.Append(Json(kv.Key)).Append(": ").Append(Json(kv.Value));
                }
                p = sb.Append('}').ToString();
            }
            Check("SetSecurity", Native.upop_set_security(H, Utf8(properties), Utf8(p)));
        }

        /// <summary>GetSecurity: driver number (1-based) of the "SMTP" or "POP" context, or null when
        /// there is no such driver.</summary>
        public SecurityDriver GetSecurity(int number, string server = "SMTP")
        {
            var props = new byte[256];
            var info = new byte[1024];
            int rc = Native.upop_get_security(H, number, Utf8(server.TrimEnd('=') + "="), props, (UIntPtr)props.Length,
                                              info, (UIntPtr)info.Length);
            if (rc == -1) return null;
            Check("GetSecurity", rc);
            return new SecurityDriver { Properties = FromUtf8(props).Replace(Sep, ';'), RuntimeInfo = Assoc(FromUtf8(info)) };
        }

        /// <summary>Every driver of the "SMTP" or "POP" context, in order.</summary>
        public List<SecurityDriver> Security(string server = "SMTP")
        {
            var list = new List<SecurityDriver>();
            for (int n = 1; ; n++) {
                var d = GetSecurity(n, server);
                if (d == null) return list;
                list.Add(d);
            }
        }

        // -------------------------------------------------------------- sessions

        /// <summary>LogonSMTP: "host+port", "TLS:host+port", "smtp://host:port" or "smtps://host:port".</summary>
        public void LogonSmtp(string connection)
        {
            Check("LogonSmtp", Native.upop_connect(H, Smtp, Utf8(connection), Utf8(""), Utf8("")), true);
        }

        public void LogoffSmtp() { Check("LogoffSmtp", Native.upop_disconnect(H, Smtp), true); }

        /// <summary>LogonMail: user/password go with USER/PASS unless an authenticating driver was used.</summary>
        public void LogonPop(string connection, string user = "", string password = "")
        {
            byte[] pw = Utf8(password);
            try {
                Check("LogonPop", Native.upop_connect(H, Pop, Utf8(connection), Utf8(user), pw));
            } finally {
                Array.Clear(pw, 0, pw.Length);
            }
        }

        /// <summary>LogoffMail: QUIT, which commits the deletions.</summary>
        public void LogoffPop() { Check("LogoffPop", Native.upop_disconnect(H, Pop)); }

        /// <summary>upop_noop: a keep-alive NOOP on the open session of that server.</summary>
        public void Noop(MailServer server)
        {
            Check("Noop", Native.upop_noop(H, (int)server), server == MailServer.Smtp);
        }

        /// <summary>upop_reset: RSET on the open session of that server. POP: the messages deleted in
        /// this session stay in the mailbox (with their numbers); SMTP: ends a pending transaction.</summary>
        public void Reset(MailServer server)
        {
            Check("Reset", Native.upop_reset(H, (int)server), server == MailServer.Smtp);
        }

        // -------------------------------------------------------------- composing

        public void SetTo(params string[] addresses) { Check("SetTo", Native.upop_set_to_list(H, Utf8(Join(addresses)))); }
        public void SetCc(params string[] addresses) { Check("SetCc", Native.upop_set_cc_list(H, Utf8(Join(addresses)))); }
        public void SetBcc(params string[] addresses) { Check("SetBcc", Native.upop_set_bcc_list(H, Utf8(Join(addresses)))); }
        public void SetReplyTo(string address) { Check("SetReplyTo", Native.upop_set_reply_to(H, Utf8(address))); }
        public void SetFrom(string address) { Check("SetFrom", Native.upop_set_from(H, Utf8(address))); }
        public void SetSubject(string subject) { Check("SetSubject", Native.upop_set_subject(H, Utf8(subject))); }
        /// <summary>1 (highest) to 5 (lowest); 0 removes it.</summary>
        public void SetPriority(int priority) { Check("SetPriority", Native.upop_set_priority(H, priority)); }
        /// <summary>The given id, or null to generate one.</summary>
        public void SetMessageId(string id = null) { Check("SetMessageId", Native.upop_set_message_id(H, Utf8(id))); }

        /// <summary>The body of one MIME type: "text/plain" or "text/html".</summary>
        public void SetMessage(string text, string mimeType = "text/plain")
        {
            Check("SetMessage", Native.upop_set_message(H, Utf8(text), Utf8("MIMEType=" + mimeType)));
        }

        public void AddAttachment(string path, string mimeType = null)
        {
            string opts = mimeType != null ? "MIMEType=" + mimeType : "";
            Check("AddAttachment", Native.upop_add_attachment_from_file(H, Utf8(path), Utf8(opts)));
        }

        /// <summary>An inline object the HTML body refers to as cid:contentId.</summary>
        public void AddInline(string path, string contentId = null, string mimeType = null)
        {
            var opts = new List<string>();
            if (mimeType != null) opts.Add("MIMEType=" + mimeType);
            if (contentId != null) opts.Add("ContentID=" + contentId);
            Check("AddInline", Native.upop_add_inline_from_file(H, Utf8(path), Utf8(Join(opts.ToArray()))));
        }

        /// <summary>Send over the open SMTP session. Returns the number of refused recipients (more than 0
        /// only with ignoreRcptError, see RecipientDetails). DSN (RFC 3461): notify "NEVER" or any of
        /// "SUCCESS,FAILURE,DELAY", ret "FULL" or "HDRS", envId; sent when the server offers DSN, else
        /// DsnNotRequested is true afterwards (the message went all the same).</summary>
        public int Send(long maxSize = 0, bool ignoreRcptError = false, string notify = null, string ret = null,
                        string envId = null)
        {
            return Sent("Send", Native.upop_send(H, Utf8(SendOptions(maxSize, ignoreRcptError, notify, ret, envId))));
        }

        /// <summary>SendRaw: an existing RFC 5322 message sent as it is (line ends made CRLF, nothing
        /// added). recipients null or empty: the message's To, Cc and Bcc (its Bcc field is removed);
        /// the envelope sender is SetEnvelopeFrom's, else the message's Sender or From. Options and
        /// result as for Send.</summary>
        public int SendRaw(byte[] message, IEnumerable<string> recipients = null, long maxSize = 0,
                           bool ignoreRcptError = false, string notify = null, string ret = null, string envId = null)
        {
            if (message == null) throw new ArgumentNullException("message");
            return Sent("SendRaw", Native.upop_send_raw(H, message, (UIntPtr)message.Length, Utf8(Recipients(recipients)),
                                                        Utf8(SendOptions(maxSize, ignoreRcptError, notify, ret, envId))));
        }

        /// <summary>SendRaw from a stream, read to its end. It is copied to a temporary file of the
        /// user's alone (removed afterwards) that the library streams from, so memory stays flat
        /// whatever the message's size.</summary>
        public int SendRaw(Stream message, IEnumerable<string> recipients = null, long maxSize = 0,
                           bool ignoreRcptError = false, string notify = null, string ret = null, string envId = null)
        {
            if (message == null) throw new ArgumentNullException("message");
            string path = Path.GetTempFileName(); // created empty, mode 0600
            try
            {
                using (var f = new FileStream(path, FileMode.Truncate, FileAccess.Write, FileShare.None))
                    message.CopyTo(f);
                return SendRawFile(path, recipients, maxSize, ignoreRcptError, notify, ret, envId);
            }
            finally { File.Delete(path); }
        }

        /// <summary>SendRawFile: the message in the file at path, read while it is sent.</summary>
        public int SendRawFile(string path, IEnumerable<string> recipients = null, long maxSize = 0,
                               bool ignoreRcptError = false, string notify = null, string ret = null, string envId = null)
        {
            return Sent("SendRawFile", Native.upop_send_raw_file(H, Utf8(path), Utf8(Recipients(recipients)),
                                                                 Utf8(SendOptions(maxSize, ignoreRcptError, notify, ret, envId))));
        }

        /// <summary>After a send: DSN options were given but the server does not offer DSN, so none
        /// was requested.</summary>
        public bool DsnNotRequested { get; private set; }

        int Sent(string operation, int rc)
        {
            DsnNotRequested = rc >= 0 && LastError.Contains("DSN not requested");
            return Check(operation, rc, true);
        }

        static string Recipients(IEnumerable<string> recipients)
        {
            return recipients == null ? "" : Join(new List<string>(recipients).ToArray());
        }

        static string SendOptions(long maxSize, bool ignoreRcptError, string notify, string ret, string envId)
        {
            var opts = new List<string> { "MaxSize=" + maxSize, "IgnoreRcptError=" + (ignoreRcptError ? "True" : "False") };
            if (!string.IsNullOrEmpty(notify)) opts.Add("Notify=" + notify);
            if (!string.IsNullOrEmpty(ret)) opts.Add("Ret=" + ret);
            if (!string.IsNullOrEmpty(envId)) opts.Add("EnvId=" + envId);
            return Join(opts.ToArray());
        }

        /// <summary>SetEnvelopeFrom: the envelope sender (MAIL FROM) apart from From; "&lt;&gt;" the null
        /// reverse-path (bounces, auto-replies); null or "" back to the default.</summary>
        public void SetEnvelopeFrom(string address) { Check("SetEnvelopeFrom", Native.upop_set_envelope_from(H, Utf8(address))); }

        /// <summary>AddHeader: an extra header field (In-Reply-To, References, X-...). The composer's own
        /// fields (Subject, From, Content-*...) are refused with a sentence naming the call that sets them.</summary>
        public void AddHeader(string name, string value) { Check("AddHeader", Native.upop_add_header(H, Utf8(name), Utf8(value))); }

        /// <summary>AddAttachmentFromMemory: an attachment of these bytes (copied now) named name;
        /// contentId makes it an inline object the HTML refers to as cid:contentId.</summary>
        public void AddAttachment(byte[] data, string name, string mimeType = null, string contentId = null)
        {
            if (data == null) throw new ArgumentNullException("data");
            var opts = new List<string>();
            if (mimeType != null) opts.Add("MIMEType=" + mimeType);
            if (contentId != null) opts.Add("ContentID=" + contentId);
            Check("AddAttachment", Native.upop_add_attachment_from_memory(H, data, (UIntPtr)data.Length, Utf8(name),
                                                                         Utf8(Join(opts.ToArray()))));
        }

        /// <summary>SendMail, the legacy one-shot plain-text send: headers TO and FROM (mandatory), CC,
        /// BCC, SUBJECT, PRIORITY, REPLY. Logs on and off around it when no SMTP session is open.</summary>
        public int SendMail(string server, IDictionary<string, string> headers, string text,
                            IEnumerable<string> attachments = null, long mailSize = 0)
        {
            var items = new List<string>();
            foreach (var kv in headers) items.Add(kv.Key + "=" + kv.Value);
            var atts = attachments != null ? new List<string>(attachments).ToArray() : new string[0];
            return Check("SendMail", Native.upop_send_mail(H, Utf8(server), Utf8(Join(items.ToArray())), Utf8(text),
                                                           Utf8(Join(atts)), mailSize), true);
        }

        public void ClearMail() { Check("ClearMail", Native.upop_clear_mail(H)); }

        // -------------------------------------------------------------- receiving

        delegate int Part(byte[] buf);

        byte[] LongOutput(string operation, Part first, Part next, out int status)
        {
            var buf = new byte[Chunk];
            var all = new MemoryStream();
            int rc = first(buf);
            while (rc == More) {
                all.Write(buf, 0, Strlen(buf));
                rc = next(buf);
            }
            status = Check(operation, rc);
            all.Write(buf, 0, Strlen(buf));
            return all.ToArray();
        }

        /// <summary>ListMail: one dictionary per message with NMB, ID, FROM, SUBJECT, DATE, PRIORITY, SIZE
        /// and UIDL; ID is the number for GetMail, GetRawMail and DeleteMail.</summary>
        public List<Dictionary<string, string>> ListMail()
        {
            UPopMailHandle hh = H;
            int status;
            byte[] data = LongOutput("ListMail", b => Native.upop_list_mail(hh, b, (UIntPtr)b.Length),
                                     b => Native.upop_list_mail_x(hh, b, (UIntPtr)b.Length), out status);
            var list = new List<Dictionary<string, string>>();
            foreach (string item in Split(Encoding.UTF8.GetString(data))) {
                int eq = item.IndexOf('=');
                string name = eq < 0 ? item : item.Substring(0, eq), value = eq < 0 ? "" : item.Substring(eq + 1);
                if (name == "NMB" || list.Count == 0) list.Add(new Dictionary<string, string>());
                list[list.Count - 1][name] = value;
            }
            return list;
        }

        /// <summary>GetRawMail: the message as stored on the server.</summary>
        public byte[] GetRawMail(int number, long mailSize = 0)
        {
            UPopMailHandle hh = H;
            int status;
            return LongOutput("GetRawMail", b => Native.upop_get_raw_mail(hh, number, mailSize, b, (UIntPtr)b.Length),
                              b => Native.upop_get_raw_mail_x(hh, b, (UIntPtr)b.Length), out status);
        }

        /// <summary>GetMail: fetches and decodes a message; every part but the plain text is written to
        /// attachmentDir.</summary>
        public MailMessage GetMail(int number, string attachmentDir, long mailSize = 0)
        {
            byte[] hb = new byte[DetailsMax], tb = new byte[Chunk], ab = new byte[DetailsMax];
            MemoryStream hs = new MemoryStream(), ts = new MemoryStream(), ats = new MemoryStream();
            int rc = Native.upop_get_mail(H, number, Utf8(attachmentDir), mailSize, hb, (UIntPtr)hb.Length,
                                          tb, (UIntPtr)tb.Length, ab, (UIntPtr)ab.Length);
            while (rc == More) {
                hs.Write(hb, 0, Strlen(hb)); ts.Write(tb, 0, Strlen(tb)); ats.Write(ab, 0, Strlen(ab));
                rc = Native.upop_get_mail_x(H, hb, (UIntPtr)hb.Length, tb, (UIntPtr)tb.Length, ab, (UIntPtr)ab.Length);
            }
            Check("GetMail", rc);
            hs.Write(hb, 0, Strlen(hb)); ts.Write(tb, 0, Strlen(tb)); ats.Write(ab, 0, Strlen(ab));
            return new MailMessage {
                Headers = Assoc(Encoding.UTF8.GetString(hs.ToArray())),
                Text = Encoding.UTF8.GetString(ts.ToArray()),
                Attachments = Split(Encoding.UTF8.GetString(ats.ToArray())),
                Status = rc
            };
        }

        /// <summary>DeleteMail: the server removes the message at LogoffPop.</summary>
        public void DeleteMail(int number) { Check("DeleteMail", Native.upop_delete_mail(H, number)); }

        /// <summary>upop_retrieve: the messages (numbers in the order wanted, a number may repeat; null:
        /// every message of the mailbox) as stored on the server, each a byte[] of its true length (NUL
        /// bytes kept, CRLF line ends, un-stuffed), in the order handed out. headersOnly: TOP n 0.
        /// Pipelined when the server offers it. A message the server refuses is left out and, once the
        /// others are in, the call throws (-7 or -11) naming it.</summary>
        public List<KeyValuePair<int, byte[]>> Retrieve(IEnumerable<int> numbers = null, bool headersOnly = false)
        {
            UPopMailHandle hh = H;
            int[] nums = numbers == null ? null : new List<int>(numbers).ToArray();
            var got = new List<KeyValuePair<int, byte[]>>();
            if (nums != null && nums.Length == 0) return got;
            var current = new MemoryStream();
            Native.ChunkFn fn = (user, nr, data, len, end) => {
                try {
                    int n = checked((int)(ulong)len);
                    if (n > 0) {
                        var b = new byte[n];
                        Marshal.Copy(data, b, 0, n);
                        current.Write(b, 0, n);
                    }
                    if (end != 0) {
                        got.Add(new KeyValuePair<int, byte[]>(nr, current.ToArray()));
                        current = new MemoryStream();
                    }
                    return 0;
                } catch (Exception e) {
                    if (callbackError == null) callbackError = e;
                    return 1;
                }
            };
            int rc = Native.upop_retrieve(hh, nums, (UIntPtr)(nums == null ? 0 : nums.Length),
                                          headersOnly ? RetrieveHeaders : 0, fn, IntPtr.Zero);
            GC.KeepAlive(fn);
            Check("Retrieve", rc);
            return got;
        }

        /// <summary>One message as stored on the server, every byte of it (NUL bytes too): Retrieve of
        /// that number.</summary>
        public byte[] Fetch(int number)
        {
            var all = Retrieve(new[] { number });
            return all.Count == 1 ? all[0].Value : new byte[0];
        }

        /// <summary>upop_find_uidl: this session's number of the message with that unique-id (UIDL,
        /// stable across sessions); -7 when it is not in the mailbox, -11 when the server has no UIDL
        /// or its listing is malformed.</summary>
        public int FindUidl(string uidl)
        {
            int nr;
            Check("FindUidl", Native.upop_find_uidl(H, Utf8(uidl), out nr));
            return nr;
        }

        /// <summary>Fetch of the message with that unique-id.</summary>
        public byte[] GetByUidl(string uidl) { return Fetch(FindUidl(uidl)); }

        /// <summary>DeleteMail of the message with that unique-id.</summary>
        public void DeleteByUidl(string uidl) { DeleteMail(FindUidl(uidl)); }

        // -------------------------------------------------------------- diagnostics

        void SmtpResponse(out int code, out string text)
        {
            var buf = new byte[512];
            int rc = Native.upop_get_smtp_response(handle, out code, buf, (UIntPtr)buf.Length);
            text = rc == 0 || rc == More ? FromUtf8(buf) : "";
            if (rc != 0 && rc != More) code = 0;
        }

        /// <summary>GetSMTPResponse: the last SMTP reply code (0 when none).</summary>
        public int SmtpReplyCode { get { int c; string t; var x = H; SmtpResponse(out c, out t); return c; } }

        /// <summary>GetSMTPResponse: the last SMTP reply text.</summary>
        public string SmtpReplyText { get { int c; string t; var x = H; SmtpResponse(out c, out t); return t; } }

        /// <summary>GetRecipientDetails: the refused recipients of the last Send, by list "to", "cc", "bcc".</summary>
        public Dictionary<string, List<RefusedRecipient>> RecipientDetails()
        {
            byte[] to = new byte[DetailsMax], cc = new byte[DetailsMax], bcc = new byte[DetailsMax];
            Check("RecipientDetails", Native.upop_get_recipient_details(H, to, (UIntPtr)to.Length, cc, (UIntPtr)cc.Length,
                                                                         bcc, (UIntPtr)bcc.Length));
            var result = new Dictionary<string, List<RefusedRecipient>>();
            string[] keys = { "to", "cc", "bcc" };
            byte[][] bufs = { to, cc, bcc };
            for (int k = 0; k < 3; k++) {
                var items = Split(FromUtf8(bufs[k]));
                var rows = new List<RefusedRecipient>();
                for (int i = 0; i < items.Count; i += 2) {
                    int eq = items[i].LastIndexOf('=');
                    int code;
                    int.TryParse(eq < 0 ? "" : items[i].Substring(eq + 1), out code);
                    rows.Add(new RefusedRecipient {
                        Address = eq < 0 ? items[i] : items[i].Substring(0, eq), ReplyCode = code,
                        ReplyText = i + 1 < items.Count ? items[i + 1] : "" });
                }
                result[keys[k]] = rows;
            }
            return result;
        }

        // -------------------------------------------------------------- GOLD lists, UTF-8, JSON

        public static string Join(params string[] items) { return string.Join(Sep.ToString(), items ?? new string[0]); }

        public static List<string> Split(string list)
        {
            return string.IsNullOrEmpty(list) ? new List<string>() : new List<string>(list.Split(Sep));
        }

        static Dictionary<string, string> Assoc(string list)
        {
            var d = new Dictionary<string, string>();
            foreach (string item in Split(list)) {
                int eq = item.IndexOf('=');
                if (eq < 0) d[item] = "";
                else d[item.Substring(0, eq)] = item.Substring(eq + 1);
            }
            return d;
        }

        static string Json(string s)
        {
            var sb = new StringBuilder("\"");
            foreach (char c in s ?? "") {
                if (c == '"' || c == '\\') sb.Append('\\').Append(c);
                else if (c < 0x20) sb.AppendFormat("\\u{0:x4}", (int)c);
                else sb.Append(c);
            }
            return sb.Append('"').ToString();
        }

        static byte[] Utf8(string s)
        {
            s = s ?? "";
            var b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
            Encoding.UTF8.GetBytes(s, 0, s.Length, b, 0);
            return b;
        }

        static int Strlen(byte[] b)
        {
            int n = Array.IndexOf(b, (byte)0);
            return n < 0 ? b.Length : n;
        }

        static string FromUtf8(byte[] b) { return Encoding.UTF8.GetString(b, 0, Strlen(b)); }

        static string FromUtf8(IntPtr p)
        {
            if (p == IntPtr.Zero) return "";
            int n = 0;
            while (Marshal.ReadByte(p, n) != 0) n++;
            var b = new byte[n];
            Marshal.Copy(p, b, 0, n);
            return Encoding.UTF8.GetString(b);
        }

        // -------------------------------------------------------------- the C ABI

        internal static class Native
        {
            // The SONAME: what the package libupopmail1 alone, an install plus ldconfig and a build
            // tree on LD_LIBRARY_PATH all provide (libupopmail.so comes only with libupopmail-dev).
            const string Lib = "libupopmail.so.1";

            [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
            public delegate void TraceFn(IntPtr user, int server, byte direction, IntPtr line);
            [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
            public delegate int ProgressFn(IntPtr user, long done, long total);
            [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
            public delegate int ChunkFn(IntPtr user, int msgNr, IntPtr data, UIntPtr len, int endOfMessage);

            [DllImport(Lib)] public static extern int upop_create(out UPopMailHandle h);
            // The release path of UPopMailHandle takes the raw pointer (the SafeHandle is closing).
            [DllImport(Lib, EntryPoint = "upop_destroy")] public static extern void upop_destroy_raw(IntPtr h);
            [DllImport(Lib, EntryPoint = "upop_cancel")] public static extern int upop_cancel_raw(IntPtr h);
            [DllImport(Lib, EntryPoint = "upop_set_trace")] public static extern int upop_set_trace_raw(IntPtr h, IntPtr fn, IntPtr user);
            [DllImport(Lib, EntryPoint = "upop_set_progress")] public static extern int upop_set_progress_raw(IntPtr h, IntPtr fn, IntPtr user);
            [DllImport(Lib)] public static extern IntPtr upop_version();
            [DllImport(Lib)] public static extern int upop_abi_version();
            [DllImport(Lib)] public static extern IntPtr upop_last_error(UPopMailHandle h);
            [DllImport(Lib, EntryPoint = "upop_last_error")] public static extern IntPtr upop_last_error_global(IntPtr zero);
            [DllImport(Lib)] public static extern IntPtr upop_strerror(int status);
            [DllImport(Lib)] public static extern int upop_set_security(UPopMailHandle h, byte[] properties, byte[] parameters);
            [DllImport(Lib)] public static extern int upop_get_security(UPopMailHandle h, int n, byte[] server, byte[] props, UIntPtr propsCap,
                                                                        byte[] info, UIntPtr infoCap);
            [DllImport(Lib)] public static extern int upop_connect(UPopMailHandle h, int server, byte[] conn, byte[] user, byte[] password);
            [DllImport(Lib)] public static extern int upop_disconnect(UPopMailHandle h, int server);
            [DllImport(Lib)] public static extern int upop_set_to_list(UPopMailHandle h, byte[] list);
            [DllImport(Lib)] public static extern int upop_set_cc_list(UPopMailHandle h, byte[] list);
            [DllImport(Lib)] public static extern int upop_set_bcc_list(UPopMailHandle h, byte[] list);
            [DllImport(Lib)] public static extern int upop_set_reply_to(UPopMailHandle h, byte[] address);
            [DllImport(Lib)] public static extern int upop_set_from(UPopMailHandle h, byte[] address);
            [DllImport(Lib)] public static extern int upop_set_subject(UPopMailHandle h, byte[] subject);
            [DllImport(Lib)] public static extern int upop_set_priority(UPopMailHandle h, int priority);
            [DllImport(Lib)] public static extern int upop_set_message_id(UPopMailHandle h, byte[] id);
            [DllImport(Lib)] public static extern int upop_set_message(UPopMailHandle h, byte[] text, byte[] options);
            [DllImport(Lib)] public static extern int upop_add_attachment_from_file(UPopMailHandle h, byte[] path, byte[] options);
            [DllImport(Lib)] public static extern int upop_add_inline_from_file(UPopMailHandle h, byte[] path, byte[] options);
            [DllImport(Lib)] public static extern int upop_send(UPopMailHandle h, byte[] options);
            [DllImport(Lib)] public static extern int upop_send_raw(UPopMailHandle h, byte[] message, UIntPtr len, byte[] recipients, byte[] options);
            [DllImport(Lib)] public static extern int upop_send_raw_file(UPopMailHandle h, byte[] path, byte[] recipients, byte[] options);
            [DllImport(Lib)] public static extern int upop_set_envelope_from(UPopMailHandle h, byte[] address);
            [DllImport(Lib)] public static extern int upop_add_header(UPopMailHandle h, byte[] name, byte[] value);
            [DllImport(Lib)] public static extern int upop_add_attachment_from_memory(UPopMailHandle h, byte[] data, UIntPtr len, byte[] name, byte[] options);
            [DllImport(Lib)] public static extern int upop_send_mail(UPopMailHandle h, byte[] server, byte[] headers, byte[] text,
                                                                     byte[] atts, long mailSize);
            [DllImport(Lib)] public static extern int upop_clear_mail(UPopMailHandle h);
            [DllImport(Lib)] public static extern int upop_list_mail(UPopMailHandle h, byte[] buf, UIntPtr cap);
            [DllImport(Lib)] public static extern int upop_list_mail_x(UPopMailHandle h, byte[] buf, UIntPtr cap);
            [DllImport(Lib)] public static extern int upop_get_mail(UPopMailHandle h, int n, byte[] attLoc, long mailSize, byte[] headers,
                                                                    UIntPtr headersCap, byte[] text, UIntPtr textCap, byte[] atts,
                                                                    UIntPtr attsCap);
            [DllImport(Lib)] public static extern int upop_get_mail_x(UPopMailHandle h, byte[] headers, UIntPtr headersCap, byte[] text,
                                                                      UIntPtr textCap, byte[] atts, UIntPtr attsCap);
            [DllImport(Lib)] public static extern int upop_get_raw_mail(UPopMailHandle h, int n, long mailSize, byte[] buf, UIntPtr cap);
            [DllImport(Lib)] public static extern int upop_get_raw_mail_x(UPopMailHandle h, byte[] buf, UIntPtr cap);
            [DllImport(Lib)] public static extern int upop_delete_mail(UPopMailHandle h, int n);
            [DllImport(Lib)] public static extern int upop_retrieve(UPopMailHandle h, int[] nrs, UIntPtr count, int flags, ChunkFn fn,
                                                                    IntPtr user);
            [DllImport(Lib)] public static extern int upop_find_uidl(UPopMailHandle h, byte[] uidl, out int nr);
            [DllImport(Lib)] public static extern int upop_noop(UPopMailHandle h, int server);
            [DllImport(Lib)] public static extern int upop_reset(UPopMailHandle h, int server);
            [DllImport(Lib)] public static extern int upop_get_smtp_response(UPopMailHandle h, out int code, byte[] buf, UIntPtr cap);
            [DllImport(Lib)] public static extern int upop_get_recipient_details(UPopMailHandle h, byte[] to, UIntPtr toCap, byte[] cc,
                                                                                 UIntPtr ccCap, byte[] bcc, UIntPtr bccCap);
            [DllImport(Lib)] public static extern int upop_set_option(UPopMailHandle h, byte[] name, byte[] value);
            [DllImport(Lib)] public static extern int upop_set_trace(UPopMailHandle h, TraceFn fn, IntPtr user);
            [DllImport(Lib)] public static extern int upop_set_progress(UPopMailHandle h, ProgressFn fn, IntPtr user);
            [DllImport(Lib)] public static extern int upop_cancel(UPopMailHandle h);
            [DllImport(Lib)] public static extern int upop_registry_add_path(byte[] dir);
            [DllImport(Lib)] public static extern IntPtr upop_drivers_json();
            [DllImport(Lib)] public static extern void upop_free(IntPtr p);
        }
    }
}

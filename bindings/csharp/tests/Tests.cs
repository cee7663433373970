// Tests of the C# binding against the real test servers (Dovecot submission and POP3).
// Built and run by scripts/check with Mono:
//   mcs -out:tests.exe bindings/csharp/UPopMail.cs bindings/csharp/tests/Tests.cs
//   LD_LIBRARY_PATH=<dir of libupopmail.so> mono tests.exe
// with MAILTEST_* and PORT_* in the environment. Prints "N passed, M failed".
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Upopmail;

static class Tests
{
    static int passed, failed;
    static string User, Pass, Addr, Ca, Submission, Submissions, Pop3, Pop3s;

    class Failure : Exception { public Failure(string m) : base(m) { } }

    static void Check(bool cond, string what)
    {
        if (!cond) throw new Failure(what);
    }

    static T Throws<T>(Action a) where T : Exception
    {
        try { a(); } catch (T e) { return e; }
        throw new Failure("expected " + typeof(T).Name);
    }

    static void Run(string name, Action test)
    {
        try {
            test();
            passed++;
            Console.WriteLine("ok      " + name);
        } catch (Exception e) {
            failed++;
            Console.WriteLine("FAILED  " + name + ": " + e);
        }
    }

    static string Env(string name)
    {
        string v = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(v)) {
            Console.Error.WriteLine(name + " is not set: run scripts/check (it starts the real servers)");
            Environment.Exit(2);
        }
        return v;
    }

    static string Token(string what) { return "cs-" + what + "-" + Guid.NewGuid().ToString("N"); }

    static Dictionary<string, string> Creds(string password = null)
    {
        return new Dictionary<string, string> { { "user", User }, { "password", password ?? Pass } };
    }

    // The SMTP security context of the tests: STARTTLS, then AUTH PLAIN with the test account.
    static void SmtpContext(UPopMail m)
    {
        m.SetSecurity("SMTP=STARTTLS");
        m.SetSecurity("SMTP=AUTH PLAIN", Creds());
    }

    // SmtpContext, then a logon to the submission server.
    static void LogonSubmission(UPopMail m)
    {
        SmtpContext(m);
        m.LogonSmtp("localhost+" + Submission);
    }

    static UPopMail NewMail()
    {
        var m = new UPopMail();
        m.UseCaCertificate(Ca);
        m.SetOption("timeout_ms", "20000");
        return m;
    }

    static void Pop(UPopMail m)
    {
        m.SetSecurity("POP=STARTTLS");
        m.LogonPop("localhost+" + Pop3, User, Pass);
    }

    // Polls POP3 until a message whose subject holds tok is there; returns its raw text.
    static string WaitFor(string tok, bool delete = false)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(20);
        while (true) {
            using (var m = NewMail()) {
                Pop(m);
                foreach (var e in m.ListMail()) {
                    if (e["SUBJECT"].Contains(tok)) {
                        int id = int.Parse(e["ID"]);
                        string raw = Encoding.UTF8.GetString(m.GetRawMail(id));
                        if (delete) m.DeleteMail(id);
                        m.LogoffPop();
                        return raw;
                    }
                }
                m.LogoffPop();
            }
            if (DateTime.UtcNow > deadline) throw new Failure("no message with " + tok + " within 20 s");
            Thread.Sleep(200);
        }
    }

    // Delivers raw bytes as they are through Dovecot's LMTP (synchronous: in the mailbox on return).
    static void Lmtp(byte[] message)
    {
        using (var c = new System.Net.Sockets.TcpClient("127.0.0.1", int.Parse(Env("PORT_LMTP"))))
        using (var s = c.GetStream()) {
            var r = new StreamReader(s, Encoding.ASCII);
            Func<string, string> reply = expect => {
                string line;
                do { line = r.ReadLine() ?? ""; } while (line.Length > 3 && line[3] == '-');
                if (!line.StartsWith(expect)) throw new Failure("LMTP: " + line);
                return line;
            };
            Action<string, string> cmd = (line, expect) => {
                byte[] b = Encoding.ASCII.GetBytes(line + "\r\n");
                s.Write(b, 0, b.Length);
                reply(expect);
            };
            reply("220");
            cmd("LHLO localhost", "250");
            cmd("MAIL FROM:<sender@example.test>", "250");
            cmd("RCPT TO:<" + Addr + ">", "250");
            cmd("DATA", "354");
            // dot-stuffed, then the end of data (the message ends in CRLF)
            string text = Encoding.GetEncoding("ISO-8859-1").GetString(message).Replace("\r\n.", "\r\n..");
            byte[] data = Encoding.GetEncoding("ISO-8859-1").GetBytes(text + ".\r\n");
            s.Write(data, 0, data.Length);
            reply("250");
            cmd("QUIT", "221");
        }
    }

    // A fake SMTP server on 127.0.0.1 for one connection. greet: answers like a server (220, EHLO,
    // MAIL, RCPT, QUIT) but never DATA; else it accepts and never says a word. Records every byte.
    class FakeSmtp : IDisposable
    {
        readonly TcpListener listener;
        readonly StringBuilder received = new StringBuilder();
        public readonly ManualResetEvent Closed = new ManualResetEvent(false);
        public readonly int Port;

        public FakeSmtp(bool greet)
        {
            listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            new Thread(() => Serve(greet)) { IsBackground = true }.Start();
        }

        public string Text { get { lock (received) return received.ToString(); } }

        void Serve(bool greet)
        {
            try {
                using (var c = listener.AcceptTcpClient()) {
                    var s = c.GetStream();
                    if (greet) Say(s, "220 fake ESMTP");
                    var line = new StringBuilder();
                    var buf = new byte[4096];
                    int n;
                    while ((n = s.Read(buf, 0, buf.Length)) > 0) {
                        string text = Encoding.ASCII.GetString(buf, 0, n);
                        lock (received) received.Append(text);
                        foreach (char ch in text) {
                            if (ch != '\n') { line.Append(ch); continue; }
                            string l = line.ToString().TrimEnd('\r').ToUpperInvariant();
                            line.Clear();
                            if (!greet) continue;
                            if (l.StartsWith("EHLO")) Say(s, "250 fake");
                            else if (l.StartsWith("MAIL") || l.StartsWith("RCPT")) Say(s, "250 ok");
                            else if (l == "QUIT") Say(s, "221 bye");
                            // DATA: never answered
                        }
                    }
                }
            } catch (Exception) {
            }
            Closed.Set();
        }

        static void Say(NetworkStream s, string line)
        {
            var b = Encoding.ASCII.GetBytes(line + "\r\n");
            s.Write(b, 0, b.Length);
        }

        public void Dispose() { listener.Stop(); }
    }

    // Logs on to the fake server and drops the instance without Dispose, on a thread of its own (so
    // no stack slot keeps it alive).
    [MethodImpl(MethodImplOptions.NoInlining)]
    static void LogonAndDrop(int port)
    {
        var t = new Thread(() => {
            var m = new UPopMail();
            m.SetOption("timeout_ms", "5000");
            m.LogonSmtp("127.0.0.1+" + port);
        });
        t.Start();
        t.Join();
    }

    static T Await<T>(Task t, int seconds) where T : Exception
    {
        try {
            if (!t.Wait(seconds * 1000)) throw new Failure("the task did not end within " + seconds + " s");
        } catch (AggregateException a) {
            var e = a.InnerException as T;
            if (e != null) return e;
            throw new Failure("expected " + typeof(T).Name + ", got " + a.InnerException);
        }
        throw new Failure("expected " + typeof(T).Name + ", the task succeeded");
    }

    static int Main(string[] args)
    {
        if (args.Length == 1 && args[0] == "--library-probe") {
            // run by the test "library not found" with an empty LD_LIBRARY_PATH
            try {
                Console.WriteLine("loaded " + UPopMail.Version);
                return 0;
            } catch (DllNotFoundException e) {
                Console.WriteLine(e.GetType().Name + ": " + e.Message);
                return 3;
            }
        }
        User = Env("MAILTEST_USER"); Pass = Env("MAILTEST_PASS"); Addr = Env("MAILTEST_ADDR");
        Ca = Env("MAILTEST_CA"); Submission = Env("PORT_SUBMISSION"); Submissions = Env("PORT_SUBMISSIONS");
        Pop3 = Env("PORT_POP3"); Pop3s = Env("PORT_POP3S");

        Run("version and registry", () => {
            Check(UPopMail.AbiVersion == 1, "ABI 1");
            Check(UPopMail.Version.Split('.').Length == 3, "version " + UPopMail.Version);
            Check(UPopMail.StrError(-8).Contains("not logged on"), "StrError(-8) " + UPopMail.StrError(-8));
            string json = UPopMail.DriversJson();
            Check(json.Contains("\"STARTTLS\"") && json.Contains("\"AUTH PLAIN\""), json);
        });

        Run("GOLD lists", () => {
            Check(UPopMail.Join("a", "b") == "a\u001bb", "join");
            Check(UPopMail.Split("a\u001bb=c").SequenceEqual(new[] { "a", "b=c" }), "split");
            Check(UPopMail.Split("").Count == 0, "empty");
        });

        Run("unknown driver: -5 naming it", () => {
            using (var m = new UPopMail()) {
                var e = Throws<UPopMailException>(() => m.SetSecurity("SMTP=NO-SUCH-DRIVER"));
                Check(e.Status == -5 && e.StatusName == "E_ENTRY", e.Message);
                Check(e.Sentence.Contains("NO-SUCH-DRIVER"), e.Sentence);
                Check(m.Security().Count == 0, "context unchanged");
            }
        });

        Run("unknown parameter: -1 naming it; optional driver described", () => {
            using (var m = new UPopMail()) {
                var p = Creds();
                p["colour"] = "blue";
                var e = Throws<UPopMailException>(() => m.SetSecurity("SMTP=AUTH PLAIN", p));
                Check(e.Status == -1 && e.Sentence.Contains("colour"), e.Message);
                m.SetSecurity("SMTP=STARTTLS");
                m.SetSecurity("SMTP=AUTH LOGIN;USE=OPT", Creds());
                var sec = m.Security("SMTP");
                Check(sec.Count == 2 && sec[1].Properties == "SMTP=AUTH LOGIN;USE=OPT", sec.Count + " " + sec[1].Properties);
                Check(!sec[0].InUse, "not in use before logon");
            }
        });

        Run("SendRaw(byte[]) and SendRaw(Stream): recipients from the message, Bcc removed, envelope sender", () => {
            string tok1 = Token("raw1"), tok2 = Token("raw2");
            string msg1 = "From: C# <" + Addr + ">\r\nTo: " + Addr + "\r\nBcc: " + Addr + "\r\nSubject: " + tok1 +
                          "\r\nMessage-ID: <" + tok1 + "@example.test>\r\n\r\nraw from a byte array\r\n.dot line\r\n";
            string msg2 = "From: " + Addr + "\nTo: nobody@example.invalid\nSubject: " + tok2 + "\n\nraw from a stream\n";
            using (var m = NewMail()) {
                LogonSubmission(m);
                Check(m.SendRaw(Encoding.UTF8.GetBytes(msg1)) == 0, "SendRaw(byte[])");
                m.SetEnvelopeFrom("<>");
                using (var st = new MemoryStream(Encoding.UTF8.GetBytes(msg2)))
                    Check(m.SendRaw(st, new[] { Addr }) == 0, "SendRaw(Stream)");
                var e = Throws<UPopMailException>(() => m.SendRaw(Encoding.UTF8.GetBytes("From: " + Addr + "\r\n\r\nx\r\n")));
                Check(e.Status == -12 && e.Sentence.Contains("no recipient"), e.Message);
                var h = Throws<UPopMailException>(() => m.AddHeader("Subject", "x"));
                Check(h.Status == -2 && h.Sentence.Contains("upop_set_subject"), h.Message);
                m.LogoffSmtp();
            }
            string raw1 = WaitFor(tok1, delete: true);
            Check(raw1.Contains("Message-ID: <" + tok1 + "@example.test>"), "Message-ID as given");
            Check(raw1.Contains("raw from a byte array\r\n.dot line\r\n"), "body intact");
            Check(!raw1.Contains("Bcc:"), "Bcc removed");
            string raw2 = WaitFor(tok2, delete: true);
            Check(raw2.Contains("Return-Path: <>"), "null reverse-path");
            Check(raw2.Contains("raw from a stream\r\n"), "stream body");
        });

        Run("AddHeader and AddAttachment(byte[]) arrive", () => {
            string tok = Token("extras");
            using (var m = NewMail()) {
                LogonSubmission(m);
                m.SetFrom(Addr);
                m.SetTo(Addr);
                m.SetSubject(tok);
                m.SetMessage("with extras");
                m.AddHeader("In-Reply-To", "<parent@example.test>");
                m.AddAttachment(new byte[] { 0, 1, 2, 255 }, "data.bin");
                Check(m.Send() == 0, "sent");
                m.LogoffSmtp();
            }
            string raw = WaitFor(tok, delete: true);
            Check(raw.Contains("In-Reply-To: <parent@example.test>"), "In-Reply-To");
            Check(raw.Contains("filename=\"data.bin\"") && raw.Contains("AAEC/w=="), "the attachment");
        });

        Run("STARTTLS + AUTH PLAIN send, POP3 read back and delete", () => {
            string tok = Token("plain");
            var trace = new List<string>();
            using (var m = NewMail()) {
                m.Trace = (server, dir, line) => trace.Add(server + " " + dir + " " + line);
                LogonSubmission(m);
                m.SetFrom(Addr);
                m.SetTo(Addr);
                m.SetSubject(tok);
                m.SetMessage("Hello from C#.\nÜmlaut line.\n");
                m.SetPriority(2);
                Check(m.Send() == 0, "no refused recipient");
                Check(m.SmtpReplyCode == 250, m.SmtpReplyCode + " " + m.SmtpReplyText);
                var sec = m.Security();
                Check(sec.Count == 2 && sec.All(d => d.InUse), "both drivers in use");
                m.LogoffSmtp();
            }
            Check(trace.Contains("SMTP > STARTTLS"), "STARTTLS in the trace");
            Check(trace.Any(l => l.StartsWith("SMTP > AUTH PLAIN")), "AUTH PLAIN in the trace");
            Check(!trace.Any(l => l.Contains(Pass)), "the password appeared in the trace");
            string raw = WaitFor(tok, delete: true);
            Check(raw.Contains(tok) && raw.Contains("X-Priority: 2"), "raw message");
            using (var m = NewMail()) {
                Pop(m);
                Check(!m.ListMail().Any(e => e["SUBJECT"].Contains(tok)), "deleted at logoff");
                var e2 = Throws<UPopMailException>(() => m.DeleteMail(0));
                Check(e2.Status == -7, e2.Message);
                m.LogoffPop();
            }
        });

        Run("implicit TLS + AUTH LOGIN with an attachment and progress", () => {
            string tok = Token("login");
            string dir = Path.Combine(Path.GetTempPath(), tok);
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, "data.bin");
            var data = new byte[300000];
            new Random(1).NextBytes(data);
            File.WriteAllBytes(path, data);
            long lastDone = 0, lastTotal = -1;
            try {
                using (var m = NewMail()) {
                    m.Progress = (done, total) => { lastDone = done; lastTotal = total; return true; };
                    m.SetSecurity("SMTP=AUTH LOGIN", Creds());
                    m.LogonSmtp("TLS:localhost+" + Submissions);
                    m.SetFrom(Addr); m.SetTo(Addr); m.SetSubject(tok); m.SetMessage("see the attachment");
                    m.AddAttachment(path);
                    m.Send();
                    m.LogoffSmtp();
                }
            } finally {
                Directory.Delete(dir, true);
            }
            Check(lastDone > 300000 && lastDone == lastTotal, "progress " + lastDone + "/" + lastTotal);
            Check(WaitFor(tok, delete: true).Contains("filename=\"data.bin\""), "attachment in the message");
        });

        Run("progress returning false cancels the send (-10)", () => {
            using (var m = NewMail()) {
                m.Progress = (done, total) => false;
                LogonSubmission(m);
                m.SetFrom(Addr); m.SetTo(Addr); m.SetSubject(Token("cancel")); m.SetMessage("never sent");
                var e = Throws<UPopMailException>(() => m.Send());
                Check(e.Status == -10, e.Message);
            }
        });

        Run("wrong password: -8 with sentence and the server's 535", () => {
            using (var m = NewMail()) {
                m.SetSecurity("SMTP=STARTTLS");
                m.SetSecurity("SMTP=AUTH PLAIN", Creds("not-the-password"));
                var e = Throws<UPopMailException>(() => m.LogonSmtp("localhost+" + Submission));
                Check(e.Status == -8 && e.Operation == "LogonSmtp", e.Message);
                Check(e.ReplyCode == 535, e.Message);
                Check(!e.Message.Contains("not-the-password"), "the password in the message");
            }
        });

        Run("not logged on: -8; missing recipients: -12", () => {
            using (var m = NewMail()) {
                Check(Throws<UPopMailException>(() => m.ListMail()).Status == -8, "list");
                LogonSubmission(m);
                m.SetFrom(Addr);
                Check(Throws<UPopMailException>(() => m.Send()).Status == -12, "no recipients");
                m.LogoffSmtp();
            }
        });

        Run("legacy SendMail with implicit logon", () => {
            string tok = Token("sendmail");
            using (var m = NewMail()) {
                SmtpContext(m);
                m.SendMail("localhost+" + Submission,
                           new Dictionary<string, string> { { "FROM", Addr }, { "TO", Addr }, { "SUBJECT", tok } },
                           "legacy text");
            }
            Check(WaitFor(tok, delete: true).Contains(tok), "delivered");
        });

        Run("POP3S logon and a pending cancel (-4)", () => {
            using (var m = NewMail()) {
                m.LogonPop("TLS:localhost+" + Pop3s, User, Pass);
                m.ListMail();
                m.LogoffPop();
                var t = new Thread(m.Cancel);
                t.Start();
                t.Join();
                var e = Throws<UPopMailException>(() => m.LogonPop("TLS:localhost+" + Pop3s, User, Pass));
                Check(e.Status == -4, e.Message);
            }
        });

        Run("GetMail decodes (when the library has it)", () => {
            string tok = Token("getmail");
            using (var m = NewMail()) {
                LogonSubmission(m);
                m.SetFrom(Addr); m.SetTo(Addr); m.SetSubject(tok);
                m.SetMessage("décodé");
                m.SetMessage("<p>html part</p>", "text/html");
                m.Send();
                m.LogoffSmtp();
            }
            WaitFor(tok);
            string dir = Path.Combine(Path.GetTempPath(), tok);
            Directory.CreateDirectory(dir);
            try {
                using (var m = NewMail()) {
                    Pop(m);
                    int id = int.Parse(m.ListMail().First(e => e["SUBJECT"].Contains(tok))["ID"]);
                    MailMessage msg;
                    try {
                        msg = m.GetMail(id, dir);
                    } catch (UPopMailException e) {
                        if (e.Status == -10 && e.Sentence.Contains("not implemented")) {
                            Console.WriteLine("        (GetMail is not implemented in this library yet)");
                            m.DeleteMail(id);
                            m.LogoffPop();
                            return;
                        }
                        throw;
                    }
                    Check(msg.Headers["SUBJECT"] == tok, "subject " + msg.Headers["SUBJECT"]);
                    Check(msg.Text.Contains("décodé"), "text " + msg.Text);
                    Check(msg.Attachments.Count >= 1, "the HTML part written as a file");
                    m.DeleteMail(id);
                    m.LogoffPop();
                }
            } finally {
                Directory.Delete(dir, true);
            }
        });

        Run("Retrieve and Fetch: byte[] per message, NUL bytes kept; FindUidl, Noop, Reset", () => {
            string tok = Token("uidl");
            byte[] body = Encoding.ASCII.GetBytes("before\0after\r\n.dot\r\n");
            Lmtp(Encoding.ASCII.GetBytes("From: sender@example.test\r\nTo: " + Addr + "\r\nSubject: " + tok +
                                         "\r\n\r\n").Concat(body).ToArray());
            using (var m = NewMail()) {
                Pop(m);
                var entry = m.ListMail().Single(e => e["SUBJECT"].Contains(tok));
                int id = int.Parse(entry["ID"]);
                string uidl = entry["UIDL"];
                var got = m.Retrieve(new[] { id, id });
                Check(got.Count == 2 && got[0].Key == id && got[1].Key == id, "two of " + id + ": " + got.Count);
                byte[] data = got[0].Value;
                Check(data.Skip(data.Length - body.Length).SequenceEqual(body), "ends with the NUL body");
                Check(got[1].Value.SequenceEqual(data), "the same twice");
                Check(m.Fetch(id).SequenceEqual(data), "Fetch");
                Check(m.GetRawMail(id).Length < data.Length, "GetRawMail stops at the NUL (a C string)");
                var heads = m.Retrieve(null, true);
                Check(heads.Any(kv => kv.Key == id && Encoding.ASCII.GetString(kv.Value).Contains(tok)), "headers of all");
                Check(m.FindUidl(uidl) == id, "FindUidl");
                Check(m.GetByUidl(uidl).SequenceEqual(data), "GetByUidl");
                var e1 = Throws<UPopMailException>(() => m.FindUidl("no-such-uidl"));
                Check(e1.Status == -7 && e1.Sentence.Contains("no-such-uidl"), e1.Message);
                m.Noop(MailServer.Pop);
                var e2 = Throws<UPopMailException>(() => m.Noop(MailServer.Smtp));
                Check(e2.Status == -8, e2.Message);
                // deleted, undone by Reset: still there after LogoffPop
                m.DeleteByUidl(uidl);
                Check(Throws<UPopMailException>(() => m.FindUidl(uidl)).Status == -7, "gone in this session");
                m.Reset(MailServer.Pop);
                Check(m.FindUidl(uidl) == id, "back after RSET");
                m.LogoffPop();
                Pop(m);
                m.DeleteByUidl(uidl);
                m.LogoffPop();
                Pop(m);
                Check(Throws<UPopMailException>(() => m.GetByUidl(uidl)).Status == -7, "deleted at logoff");
                m.LogoffPop();
            }
            using (var m = NewMail()) {
                SmtpContext(m);
                m.LogonSmtp("localhost:" + Submission);
                m.Noop(MailServer.Smtp);
                Check(m.SmtpReplyCode == 250, "NOOP " + m.SmtpReplyCode);
                m.Reset(MailServer.Smtp);
                Check(m.SmtpReplyCode == 250, "RSET " + m.SmtpReplyCode);
                m.LogoffSmtp();
            }
        });

        Run("typed exceptions: wrong password is AuthenticationException (SMTP 535 and POP)", () => {
            using (var m = NewMail()) {
                m.SetSecurity("SMTP=STARTTLS");
                m.SetSecurity("SMTP=AUTH PLAIN", Creds("not-the-password"));
                var e = Throws<UPopMailException>(() => m.LogonSmtp("localhost+" + Submission));
                Check(e is AuthenticationException && e.ReplyCode == 535, e.GetType().Name + ": " + e.Message);
            }
            using (var m = NewMail()) {
                m.SetSecurity("POP=STARTTLS");
                var e = Throws<UPopMailException>(() => m.LogonPop("localhost+" + Pop3, User, "not-the-password"));
                Check(e is AuthenticationException, e.GetType().Name + ": " + e.Message);
            }
        });

        Run("typed exceptions: a certificate for another host is TlsException (badcert Dovecot)", () => {
            using (var m = NewMail()) {
                var e = Throws<UPopMailException>(() => m.LogonPop("TLS:localhost+" + Env("PORT_BAD_POP3S"), User, Pass));
                Check(e is TlsException, e.GetType().Name + ": " + e.Message);
            }
            using (var m = NewMail()) {
                SmtpContext(m);
                var e = Throws<UPopMailException>(() => m.LogonSmtp("localhost+" + Env("PORT_BAD_SUBMISSION")));
                Check(e is TlsException, e.GetType().Name + ": " + e.Message);
            }
        });

        Run("typed exceptions: a refused recipient is RecipientsRefusedException with the address (Postfix)", () => {
            using (var m = NewMail()) {
                SmtpContext(m);
                m.LogonSmtp("localhost+" + Env("PORT_PF_SUBMISSION"));
                m.SetFrom(Addr);
                m.SetTo(Addr, "nobody-here@example.test");
                m.SetSubject(Token("refused"));
                m.SetMessage("not sent");
                var e = Throws<UPopMailException>(() => m.Send());
                var r = e as RecipientsRefusedException;
                Check(r != null, e.GetType().Name + ": " + e.Message);
                Check(r.Addresses.Contains("nobody-here@example.test") && !r.Addresses.Contains(Addr),
                      string.Join(",", r.Addresses) + " / " + e.Message);
                Check(r.Refused[0].ReplyCode == 550, r.Refused[0].ToString());
                m.LogoffSmtp();
            }
        });

        Run("typed exceptions: the mapping agrees with Python's error_class", () => {
            Check(UPopMailException.ClassOf(-4, "reading from x: cancelled", 0) == typeof(CancelledException), "-4 cancelled");
            Check(UPopMailException.ClassOf(-4, "reading from x: timed out", 0) == typeof(UPopMailTimeoutException), "-4");
            Check(UPopMailException.ClassOf(-8, "not logged on", 0) == typeof(UPopMailException), "-8 not logged on");
            Check(UPopMailException.ClassOf(-8, "x", 535) == typeof(AuthenticationException), "-8 535");
            Check(UPopMailException.ClassOf(-8, "the TLS handshake failed", 0) == typeof(TlsException), "-8 tls");
            Check(UPopMailException.ClassOf(-8, "x", 0) == typeof(ProtocolException), "-8 other");
            Check(UPopMailException.ClassOf(-11, "x", 0) == typeof(ProtocolException), "-11");
            Check(UPopMailException.ClassOf(-10, "the progress callback cancelled it", 0) == typeof(CancelledException), "-10 cb");
        });

        Run("async: LogonSmtpAsync + SendAsync, LogonPopAsync + ListMailAsync + FetchAsync", () => {
            string tok = Token("async");
            using (var m = NewMail()) {
                SmtpContext(m);
                m.LogonSmtpAsync("localhost+" + Submission).Wait();
                m.SetFrom(Addr); m.SetTo(Addr); m.SetSubject(tok); m.SetMessage("async body");
                Check(m.SendAsync().Result == 0, "send");
                m.LogoffSmtp();
            }
            WaitFor(tok);
            using (var m = NewMail()) {
                m.SetSecurity("POP=STARTTLS");
                m.LogonPopAsync("localhost+" + Pop3, User, Pass).Wait();
                var list = m.ListMailAsync().Result;
                var mine = list.Where(x => x["SUBJECT"].Contains(tok)).ToList();
                Check(mine.Count == 1, "listed " + mine.Count);
                int nr = int.Parse(mine[0]["ID"]);
                var raw = Encoding.UTF8.GetString(m.FetchAsync(nr).Result);
                Check(raw.Contains(tok) && raw.Contains("async body"), raw);
                Check(Encoding.UTF8.GetString(m.GetRawMailAsync(nr).Result).Contains(tok), "GetRawMailAsync");
                m.DeleteMail(nr);
                m.LogoffPop();
            }
        });

        Run("async: cancelling LogonSmtpAsync to a server that never greets -> OperationCanceledException", () => {
            using (var fake = new FakeSmtp(false))
            using (var m = new UPopMail())
            using (var cts = new CancellationTokenSource()) {
                m.SetOption("timeout_ms", "30000");
                var t0 = DateTime.UtcNow;
                var task = m.LogonSmtpAsync("127.0.0.1+" + fake.Port, cts.Token);
                Thread.Sleep(300);
                Check(!task.IsCompleted, "ended before the cancel: " + task.Status);
                cts.Cancel();
                var e = Await<OperationCanceledException>(task, 10);
                double s = (DateTime.UtcNow - t0).TotalSeconds;
                Check(s < 5, "took " + s + " s");
                Check(task.IsCanceled, task.Status.ToString());
                Check(e is OperationCanceledException && m.LastException is CancelledException, "LastException " + m.LastException);
                Check(fake.Closed.WaitOne(5000), "the connection was not closed");
            }
        });

        Run("async: cancelling SendAsync while the server does not answer DATA; a cancelled token sends nothing", () => {
            using (var fake = new FakeSmtp(true))
            using (var m = new UPopMail())
            using (var cts = new CancellationTokenSource()) {
                m.SetOption("timeout_ms", "30000");
                m.LogonSmtp("127.0.0.1+" + fake.Port);
                m.SetFrom(Addr); m.SetTo(Addr); m.SetSubject("never"); m.SetMessage("never");
                var pre = new CancellationTokenSource();
                pre.Cancel();
                var t1 = m.SendAsync(pre.Token);
                Await<OperationCanceledException>(t1, 10);
                Check(t1.IsCanceled && !fake.Text.Contains("MAIL FROM"), "sent after all: " + fake.Text);
                var t0 = DateTime.UtcNow;
                var task = m.SendAsync(cts.Token);
                DateTime until = DateTime.UtcNow.AddSeconds(10);
                while (!fake.Text.Contains("DATA") && DateTime.UtcNow < until) Thread.Sleep(20);
                Check(fake.Text.Contains("DATA"), "no DATA: " + fake.Text);
                Thread.Sleep(200);
                Check(!task.IsCompleted, "ended before the cancel: " + task.Status);
                cts.Cancel();
                var e = Await<OperationCanceledException>(task, 10);
                Check((DateTime.UtcNow - t0).TotalSeconds < 5, "slow cancel");
                Check(task.IsCanceled, task.Status.ToString());
                Check(e is OperationCanceledException && m.LastException is CancelledException, "LastException " + m.LastException);
                Check(fake.Closed.WaitOne(5000), "the connection was not closed");
            }
        });

        Run("finalizer: no network I/O (no QUIT) when an instance is dropped; Dispose sends QUIT", () => {
            using (var fake = new FakeSmtp(true)) {
                LogonAndDrop(fake.Port);
                int before = fake.Text.Length;
                Check(fake.Text.Contains("EHLO"), "no EHLO: " + fake.Text);
                for (int i = 0; i < 3 && !fake.Closed.WaitOne(0); i++) {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    fake.Closed.WaitOne(1000);
                }
                Check(fake.Closed.WaitOne(5000), "the finalizer did not free the instance (connection open)");
                string after = fake.Text.Substring(before);
                Check(after.Length == 0, "bytes received after the instance was dropped: " + after);
            }
            using (var fake = new FakeSmtp(true)) {
                var m = new UPopMail();
                m.SetOption("timeout_ms", "5000");
                m.LogonSmtp("127.0.0.1+" + fake.Port);
                m.Dispose();
                Check(fake.Closed.WaitOne(5000), "Dispose did not close the connection");
                Check(fake.Text.Contains("QUIT"), "Dispose did not log off: " + fake.Text);
            }
        });

        Run("library not found: UPopMailLibraryNotFoundException says where it looked and what to do", () => {
            if (File.Exists("/etc/ld.so.cache") && File.ReadAllText("/etc/ld.so.cache").Contains("libupopmail.so.1")) {
                Console.WriteLine("        (skipped: libupopmail.so.1 is installed on the loader path)");
                return;
            }
            var psi = new System.Diagnostics.ProcessStartInfo(System.Diagnostics.Process.GetCurrentProcess().MainModule.FileName,
                                                              "\"" + typeof(Tests).Assembly.Location + "\" --library-probe") {
                UseShellExecute = false, RedirectStandardOutput = true };
            psi.EnvironmentVariables["LD_LIBRARY_PATH"] = "";
            using (var p = System.Diagnostics.Process.Start(psi)) {
                string output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                Check(p.ExitCode == 3, "exit " + p.ExitCode + ": " + output);
                Check(output.StartsWith("UPopMailLibraryNotFoundException: ") && output.Contains("LD_LIBRARY_PATH")
                      && output.Contains("ldconfig") && output.Contains("libupopmail1"), output);
            }
        });

        Run("disposed instance", () => {
            var m = new UPopMail();
            m.Dispose();
            m.Dispose();
            Throws<ObjectDisposedException>(() => m.SetSubject("x"));
        });

        Console.WriteLine("{0} passed, {1} failed", passed, failed);
        return failed == 0 ? 0 : 1;
    }
}

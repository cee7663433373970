// SendAndFetch.cs -- send a message with STARTTLS + AUTH PLAIN and read it back over POP3 with the
// upopmail C# binding.
//   mcs -out:SendAndFetch.exe bindings/csharp/UPopMail.cs samples/csharp/SendAndFetch.cs
//   UPOPMAIL_PASSWORD=... LD_LIBRARY_PATH=<lib dir> mono SendAndFetch.exe HOST SMTP-PORT POP-PORT USER ADDR [CA]
// Exits 0 when the message came back (it is deleted afterwards).
using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using Upopmail;

static class SendAndFetch
{
    static int Main(string[] args)
    {
        if (args.Length < 5) {
            Console.Error.WriteLine("usage: SendAndFetch.exe HOST SMTP-PORT POP-PORT USER ADDR [CA-FILE]");
            return 2;
        }
        string host = args[0], smtpPort = args[1], popPort = args[2], user = args[3], addr = args[4];
        string password = Environment.GetEnvironmentVariable("UPOPMAIL_PASSWORD");
        if (string.IsNullOrEmpty(password)) {
            Console.Error.WriteLine("set UPOPMAIL_PASSWORD");
            return 2;
        }
        string subject = "upopmail C# sample " + Guid.NewGuid().ToString("N");
        try {
            using (var mail = new UPopMail()) {
                if (args.Length > 5) mail.UseCaCertificate(args[5]);
                mail.SetSecurity("SMTP=STARTTLS");
                mail.SetSecurity("SMTP=AUTH PLAIN", new Dictionary<string, string> {
                    { "user", user }, { "password", password } });
                mail.LogonSmtp(host + "+" + smtpPort);
                mail.SetFrom(addr);
                mail.SetTo(addr);
                mail.SetSubject(subject);
                mail.SetMessage("Sent by samples/csharp/SendAndFetch.cs.\n");
                mail.Send();
                Console.WriteLine("sent '{0}'; server said {1} {2}", subject, mail.SmtpReplyCode, mail.SmtpReplyText);
                foreach (var d in mail.Security("SMTP"))
                    Console.WriteLine("driver {0}: INUSE={1}", d.Properties, d.InUse ? "TRUE" : "FALSE");
                mail.LogoffSmtp();

                DateTime deadline = DateTime.UtcNow.AddSeconds(20);
                while (true) {
                    mail.SetSecurity("POP=STARTTLS");
                    mail.LogonPop(host + "+" + popPort, user, password);
                    Dictionary<string, string> found = null;
                    foreach (var m in mail.ListMail())
                        if (m["SUBJECT"] == subject) found = m;
                    if (found != null) {
                        int id = int.Parse(found["ID"]);
                        string raw = Encoding.UTF8.GetString(mail.GetRawMail(id));
                        Console.WriteLine("fetched message {0} ({1} bytes) from {2}", id, found["SIZE"], found["FROM"]);
                        Console.WriteLine(raw.Substring(0, Math.Max(0, raw.IndexOf("\r\n\r\n"))));
                        mail.DeleteMail(id);
                    }
                    mail.LogoffPop();
                    if (found != null) return 0;
                    if (DateTime.UtcNow > deadline) {
                        Console.Error.WriteLine("the message did not arrive within 20 s");
                        return 1;
                    }
                    Thread.Sleep(200);
                }
            }
        } catch (UPopMailException e) {
            Console.Error.WriteLine("error: " + e.Message);
            return -e.Status;
        }
    }
}

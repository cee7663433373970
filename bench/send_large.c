/* bench/send_large: sends one message with a large attachment through an SMTP server with
 * STARTTLS + AUTH PLAIN, so that /usr/bin/time -v can report the process's peak resident memory
 * (bench/memory.sh runs it next to a peer). Public C ABI only.
 * usage: send_large HOST PORT USER PASSWORD CA_FILE FROM TO FILE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <upopmail.h>

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: %s HOST PORT USER PASSWORD CA_FILE FROM TO FILE\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *port = argv[2], *user = argv[3], *pass = argv[4], *ca = argv[5];
    char config[4096], conn[512], params[1024];
    snprintf(config, sizeof config, "/tmp/upop-bench-%d.json", (int)getpid());
    FILE *f = fopen(config, "w");
    if (!f) return 2;
    fprintf(f, "{\"default\": {\"ca_certificate\": \"%s\"}}", ca);
    fclose(f);
    snprintf(conn, sizeof conn, "%s+%s", host, port);
    snprintf(params, sizeof params, "user=%s\x1Bpassword=%s", user, pass);

    upop *h = NULL;
    int rc = upop_create(&h);
    if (!rc) rc = upop_set_option(h, "config", config);
    if (!rc) rc = upop_set_option(h, "timeout_ms", "120000");
    if (!rc) rc = upop_set_security(h, "SMTP=STARTTLS", "");
    if (!rc) rc = upop_set_security(h, "SMTP=AUTH PLAIN", params);
    if (!rc) rc = upop_connect(h, UPOP_SMTP, conn, "", "");
    if (!rc) rc = upop_set_from(h, argv[6]);
    if (!rc) rc = upop_set_to_list(h, argv[7]);
    if (!rc) rc = upop_set_subject(h, "bench: large attachment");
    if (!rc) rc = upop_set_message(h, "A large attachment follows.", "");
    if (!rc) rc = upop_add_attachment_from_file(h, argv[8], "");
    if (!rc) rc = upop_send(h, "");
    if (!rc) rc = upop_disconnect(h, UPOP_SMTP);
    if (rc) fprintf(stderr, "send_large: status %d: %s\n", rc, upop_last_error(h));
    upop_destroy(h);
    remove(config);
    return rc ? 1 : 0;
}

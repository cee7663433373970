#!/bin/bash
# start.sh DIR -- start throw-away mail servers on loopback, all state in DIR.
#
#   Dovecot "main"    POP3+STLS 24110, POP3S 24995, submission+STARTTLS 24587,
#                     submissions 24465, LMTP 24024 (AUTH allowed before TLS too)
#   Dovecot "strict"  on 127.0.0.2: POP3 24111, submission 24588; no AUTH/USER until
#                     STLS/STARTTLS (127.0.0.1->127.0.0.1 would count as "secured")
#   Dovecot "badcert" POP3 24112, POP3S 24996, submission 24589 with a certificate for
#                     wrong.example.invalid (signed by the same test CA)
#   Postfix           relay 24025 (no TLS, no AUTH: internal hop), submission-style 24525
#                     (STARTTLS mandatory, AUTH after TLS), smtps 24526, MX-style 24026
# Account testuser/testpass (testuser@example.test); mail lands in DIR/mail/testuser/Maildir.
# Certificates (tools/mkcerts.sh): test CA DIR/certs/ca.crt; server cert for DNS:localhost,
# DNS:mail.example.test, IP:127.0.0.1, IP:127.0.0.2, IP:::1.
#   Postfix           relay for Dovecot submission (-> Dovecot LMTP) and
#                     its own SMTP ports with STARTTLS/SMTPS + SASL (Dovecot auth)
#   krb5kdc           Kerberos realm UPOPMAIL.TEST on 127.0.0.1:24088 (UDP+TCP), state in
#                     DIR/krb5 (tools/mkrealm.sh): principal testuser (password TEST_PASS, also in
#                     DIR/krb5/client.keytab), services pop/localhost and smtp/localhost in
#                     DIR/krb5/service.keytab; every Dovecot instance offers GSSAPI and maps
#                     testuser@UPOPMAIL.TEST to testuser. Needs krb5-kdc, krb5-admin-server and
#                     dovecot-gssapi (KRB5=no or a missing package leaves it out: MAILTEST_KRB5=no).
#
# Loopback only (127.0.0.1, and 127.0.0.2 for "strict"), ports 24000-24999, every piece of
# state in DIR (keep it short and under /tmp: unix socket paths live in it).
# Must run as root (Postfix and Dovecot drop privileges themselves).
# Environment overrides: TEST_USER TEST_PASS NTLM=auto|no KRB5=auto|no KRB5_REALM MAIL_UID MAIL_GID
#   and every PORT_* variable below.
#   (TEST_USER/TEST_PASS are pasted into configs with sed: avoid | & \ ' :)
# Writes DIR/env.sh (ports, user, CA path) for test harnesses to source; stop with stop.sh DIR.
set -euo pipefail
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

die() { echo "start.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: start.sh DIR"
[ "$(id -u)" -eq 0 ] || die "must be run as root"
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
[ ${#DIR} -le 60 ] || die "DIR path too long for unix sockets (${#DIR} > 60 chars): $DIR"
t0=$(date +%s%N)

: "${TEST_USER:=testuser}" "${TEST_PASS:=testpass}" "${TEST_DOMAIN:=example.test}"
: "${NTLM:=auto}" "${KRB5:=auto}" "${KRB5_REALM:=UPOPMAIL.TEST}"
: "${MAIL_UID:=$(id -u nobody)}" "${MAIL_GID:=$(id -g nobody)}"
: "${PORT_POP3:=24110}" "${PORT_POP3S:=24995}"
: "${PORT_SUBMISSION:=24587}" "${PORT_SUBMISSIONS:=24465}" "${PORT_LMTP:=24024}"
: "${PORT_STRICT_POP3:=24111}" "${PORT_STRICT_SUBMISSION:=24588}"
: "${PORT_BAD_POP3:=24112}" "${PORT_BAD_POP3S:=24996}" "${PORT_BAD_SUBMISSION:=24589}"
: "${PORT_RELAY:=24025}" "${PORT_PF_SMTP:=24026}"
: "${PORT_PF_SUBMISSION:=24525}" "${PORT_PF_SMTPS:=24526}" "${PORT_KDC:=24088}"
STRICT_ADDR=127.0.0.2

command -v dovecot >/dev/null || die "dovecot not installed (apt-get install dovecot-core dovecot-pop3d dovecot-submissiond dovecot-lmtpd)"
for f in /usr/lib/dovecot/pop3 /usr/lib/dovecot/submission /usr/lib/dovecot/lmtp; do
  [ -x "$f" ] || die "$f missing (dovecot-pop3d / dovecot-submissiond / dovecot-lmtpd)"
done
command -v postfix >/dev/null || die "postfix not installed (apt-get install postfix)"
command -v openssl >/dev/null || die "openssl not installed"
if [ -e "$DIR/run/main/master.pid" ] && kill -0 "$(cat "$DIR/run/main/master.pid")" 2>/dev/null; then
  die "already running in $DIR (run stop.sh first)"
fi

# ---------------------------------------------------------------- layout
chmod 0755 "$DIR"     # the mail uid must be able to reach DIR/mail
mkdir -p "$DIR"/{etc/postfix,run,state/main,state/strict,state/badcert,log,mail,samba} \
         "$DIR/oauth2-keys/default/HS256" "$DIR/postfix/data"
# every path component above DIR must be traversable by MAIL_UID
if command -v setpriv >/dev/null && \
   ! setpriv --reuid="$MAIL_UID" --regid="$MAIL_GID" --clear-groups test -x "$DIR"; then
  die "uid $MAIL_UID cannot traverse $DIR (use a DIR under /tmp)"
fi

# certificates (kept across restarts)
[ -s "$DIR/certs/server.crt" ] || "$HERE/tools/mkcerts.sh" "$DIR/certs" >/dev/null

# HS256 key for local JWT validation (base64 of the raw secret, no newline)
KEYFILE="$DIR/oauth2-keys/default/HS256/default"
[ -s "$KEYFILE" ] || { head -c 32 /dev/urandom | base64 | tr -d '\n' > "$KEYFILE"; }
chmod -R go+rX "$DIR/oauth2-keys"

# user database: user:{PLAIN}pass:uid:gid::home::
HOMEDIR="$DIR/mail/$TEST_USER"
mkdir -p "$HOMEDIR"
chown -R "$MAIL_UID:$MAIL_GID" "$DIR/mail"
printf '%s:{PLAIN}%s:%s:%s::%s::\n' "$TEST_USER" "$TEST_PASS" "$MAIL_UID" "$MAIL_GID" "$HOMEDIR" > "$DIR/etc/passwd"
chmod 0644 "$DIR/etc/passwd"

# NTLM via Samba's ntlm_auth (package "winbind"), optional
NTLM_MECH='' USE_WINBIND=no
if [ "$NTLM" != no ] && [ -x /usr/bin/ntlm_auth ]; then NTLM_MECH=ntlm USE_WINBIND=yes; fi

# Kerberos (krb5kdc + Dovecot's GSSAPI mechanism), optional
GSSAPI_MECH='' USE_KRB5=no
if [ "$KRB5" != no ] && command -v krb5kdc >/dev/null && command -v kadmin.local >/dev/null &&
   [ -e /usr/lib/dovecot/modules/auth/libmech_gssapi.so ]; then
  GSSAPI_MECH=gssapi USE_KRB5=yes
  "$HERE/tools/mkrealm.sh" "$DIR/krb5" "$KRB5_REALM" "$PORT_KDC" "$TEST_USER" "$TEST_PASS" "$DIR/log"
fi

# ---------------------------------------------------------------- configs
subst() {  # subst SRC DST
  sed -e "s|@DIR@|$DIR|g" -e "s|@PASS@|$TEST_PASS|g" \
      -e "s|@NTLM_MECH@|$NTLM_MECH|g" -e "s|@USE_WINBIND@|$USE_WINBIND|g" \
      -e "s|@GSSAPI_MECH@|$GSSAPI_MECH|g" \
      -e "s|@PORT_POP3@|$PORT_POP3|g" -e "s|@PORT_POP3S@|$PORT_POP3S|g" \
      -e "s|@PORT_SUBMISSION@|$PORT_SUBMISSION|g" -e "s|@PORT_SUBMISSIONS@|$PORT_SUBMISSIONS|g" \
      -e "s|@PORT_LMTP@|$PORT_LMTP|g" -e "s|@PORT_RELAY@|$PORT_RELAY|g" \
      -e "s|@PORT_STRICT_POP3@|$PORT_STRICT_POP3|g" -e "s|@PORT_STRICT_SUBMISSION@|$PORT_STRICT_SUBMISSION|g" \
      -e "s|@PORT_BAD_POP3@|$PORT_BAD_POP3|g" -e "s|@PORT_BAD_POP3S@|$PORT_BAD_POP3S|g" \
      -e "s|@PORT_BAD_SUBMISSION@|$PORT_BAD_SUBMISSION|g" \
      -e "s|@PORT_PF_SMTP@|$PORT_PF_SMTP|g" -e "s|@PORT_PF_SUBMISSION@|$PORT_PF_SUBMISSION|g" \
      -e "s|@PORT_PF_SMTPS@|$PORT_PF_SMTPS|g" "$1" > "$2"
}
C="$HERE/conf"
for f in dovecot-common dovecot-main dovecot-strict dovecot-badcert; do
  subst "$C/$f.conf" "$DIR/etc/$f.conf"
done
subst "$C/dovecot-oauth2.conf.ext" "$DIR/etc/dovecot-oauth2.conf.ext"
subst "$C/smb.conf"                "$DIR/etc/smb.conf"
subst "$C/ntlm_auth_helper"        "$DIR/etc/ntlm_auth_helper"
chmod 0755 "$DIR/etc/ntlm_auth_helper"
subst "$C/postfix/main.cf"   "$DIR/etc/postfix/main.cf"
subst "$C/postfix/master.cf" "$DIR/etc/postfix/master.cf"
printf '%s@%s OK\n' "$TEST_USER" "$TEST_DOMAIN" > "$DIR/etc/postfix/vmailbox"
# Postfix refuses to read a table/config file modified within the last second
# ("pausing to let ... cool down", 300 ms naps): back-date the fresh files.
touch -d '2 minutes ago' "$DIR"/etc/postfix/*

# ---------------------------------------------------------------- start
ALL_PORTS="$PORT_POP3 $PORT_POP3S $PORT_SUBMISSION $PORT_SUBMISSIONS $PORT_LMTP \
  $PORT_BAD_POP3 $PORT_BAD_POP3S $PORT_BAD_SUBMISSION \
  $PORT_RELAY $PORT_PF_SMTP $PORT_PF_SUBMISSION $PORT_PF_SMTPS"
[ "$USE_KRB5" = yes ] && ALL_PORTS="$ALL_PORTS $PORT_KDC"
for p in $ALL_PORTS $PORT_STRICT_POP3 $PORT_STRICT_SUBMISSION; do
  { [ "$p" -ge 24000 ] && [ "$p" -le 24999 ]; } || die "port $p is outside 24000-24999"
done
for p in $ALL_PORTS; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "port 127.0.0.1:$p is already in use"; fi
done
for p in $PORT_STRICT_POP3 $PORT_STRICT_SUBMISSION; do
  if (exec 3<>"/dev/tcp/$STRICT_ADDR/$p") 2>/dev/null; then die "port $STRICT_ADDR:$p is already in use"; fi
done
# from here on, a failure stops whatever was already started
trap '[ $? -ne 0 ] && "$HERE/stop.sh" "$DIR" >&2' EXIT
# Daemons get </dev/null and log files as stdio: a caller that captures
# start.sh's output through a pipe would otherwise never see EOF.
# Postfix first: its start is fork-heavy and slows down a lot when it
# competes for CPU with three Dovecot instances starting up.
mkdir -p "$DIR/postfix/queue"
chown postfix:postfix "$DIR/postfix/data"
# A plain "postfix start" creates missing queue directories and runs slow
# sanity checks (~1-2 s).  Faster: create the queue directories with
# Postfix's own helper (what "start" runs internally, ~0.8 s), then let
# "start" skip its checks via the quick-start flag (~0.15 s).  If the
# helper fails, the full "start" path still does everything.
[ -d "$DIR/postfix/queue/active" ] || postfix -c "$DIR/etc/postfix" post-install create-missing \
    </dev/null >>"$DIR/log/postfix-start.log" 2>&1 || true
[ -d "$DIR/postfix/queue/active" ] && touch "$DIR/postfix/queue/quick-start"
# returns once master(8) is initialised (master -w); errors are logged
# to log/postfix.log, not to stderr
postfix -c "$DIR/etc/postfix" start </dev/null >>"$DIR/log/postfix-start.log" 2>&1 || {
  tail -n 5 "$DIR/log/postfix.log" >&2 2>/dev/null
  die "postfix failed, see $DIR/log/postfix.log"
}
# The KDC (it daemonizes and writes its pid file; its own session, like the other masters).
if [ "$USE_KRB5" = yes ]; then
  KRB5_CONFIG="$DIR/krb5/krb5.conf" KRB5_KDC_PROFILE="$DIR/krb5/kdc.conf" \
    krb5kdc -r "$KRB5_REALM" -P "$DIR/run/krb5kdc.pid" </dev/null >>"$DIR/log/krb5kdc-start.log" 2>&1 || {
    tail -n 5 "$DIR/log/krb5kdc-start.log" "$DIR/log/krb5kdc.log" >&2 2>/dev/null
    die "krb5kdc failed to start"
  }
fi
for inst in main strict badcert; do
  dovecot -c "$DIR/etc/dovecot-$inst.conf" </dev/null >>"$DIR/log/dovecot-start.log" 2>&1 || {
    tail -n 5 "$DIR/log/dovecot-start.log" "$DIR/log/dovecot-$inst.log" >&2
    die "dovecot ($inst) failed to start"
  }
done

# ---------------------------------------------------------------- wait
wait_port() {  # wait_port ADDR PORT
  local _
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.05
  done
  die "nothing listening on $1:$2 after 5s"
}
for p in $ALL_PORTS; do wait_port 127.0.0.1 "$p"; done
for p in $PORT_STRICT_POP3 $PORT_STRICT_SUBMISSION; do wait_port $STRICT_ADDR "$p"; done

cat > "$DIR/env.sh" <<EOF
# generated by start.sh -- source this in tests
MAILTEST_DIR='$DIR'
MAILTEST_USER='$TEST_USER'
MAILTEST_PASS='$TEST_PASS'
MAILTEST_ADDR='$TEST_USER@$TEST_DOMAIN'
MAILTEST_CA='$DIR/certs/ca.crt'
MAILTEST_MAILDIR='$HOMEDIR/Maildir'
MAILTEST_OAUTH2_KEY_FILE='$KEYFILE'
MAILTEST_NTLM='$USE_WINBIND'
MAILTEST_STRICT_ADDR='$STRICT_ADDR'
MAILTEST_KRB5='$USE_KRB5'
MAILTEST_KRB5_REALM='$KRB5_REALM'
MAILTEST_KRB5_CLIENT_KEYTAB='$DIR/krb5/client.keytab'
MAILTEST_KRB5_SERVICE_KEYTAB='$DIR/krb5/service.keytab'
KRB5_CONFIG='$DIR/krb5/krb5.conf'
KRB5RCACHEDIR='$DIR/krb5/rcache'
PORT_POP3=$PORT_POP3
PORT_POP3S=$PORT_POP3S
PORT_SUBMISSION=$PORT_SUBMISSION
PORT_SUBMISSIONS=$PORT_SUBMISSIONS
PORT_LMTP=$PORT_LMTP
PORT_STRICT_POP3=$PORT_STRICT_POP3
PORT_STRICT_SUBMISSION=$PORT_STRICT_SUBMISSION
PORT_BAD_POP3=$PORT_BAD_POP3
PORT_BAD_POP3S=$PORT_BAD_POP3S
PORT_BAD_SUBMISSION=$PORT_BAD_SUBMISSION
PORT_RELAY=$PORT_RELAY
PORT_PF_SMTP=$PORT_PF_SMTP
PORT_PF_SUBMISSION=$PORT_PF_SUBMISSION
PORT_PF_SMTPS=$PORT_PF_SMTPS
PORT_KDC=$PORT_KDC
EOF
echo "start.sh: servers up in $(( ($(date +%s%N) - t0) / 1000000 )) ms (DIR=$DIR ntlm=$USE_WINBIND krb5=$USE_KRB5)"

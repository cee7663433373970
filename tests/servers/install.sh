#!/bin/bash
# install.sh [EXTRA_PACKAGE...] -- Debian 12 packages for the loopback test mail servers
# (tests/servers/), plus any extra packages named on the command line (scripts/lib.sh passes
# the build dependencies, so that a fresh machine needs a single apt-get run).
#   dovecot-core dovecot-pop3d dovecot-submissiond dovecot-lmtpd   POP3, submission, LMTP
#   postfix                                                        relay (and second MTA)
#   winbind                       only /usr/bin/ntlm_auth, for NTLM through Dovecot's winbind helper
#   openssl python3               certificates (tools/mkcerts.sh), JWTs (tools/mint_jwt.py)
#   krb5-kdc krb5-admin-server    the throw-away Kerberos realm (krb5kdc, kdb5_util, kadmin.local;
#                                 the kadmind daemon is never run)
#   krb5-user dovecot-gssapi      kinit/kdestroy for the tests, Dovecot's GSSAPI mechanism
# Idempotent: only missing packages are installed, and nothing at all is done (no apt-get
# update) when every package is present. If a package's maintainer script started the
# *system* dovecot/postfix/winbind/krb5-kdc/krb5-admin-server (a host without a policy-rc.d
# that forbids it), those freshly started system daemons are stopped again; nothing under /etc
# is edited by this script (krb5-config's package writes a default /etc/krb5.conf, which the
# test realm never reads: start.sh gives every Kerberos program its own KRB5_CONFIG).
# Must run as root.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "install.sh: must run as root" >&2; exit 1; }
PACKAGES="dovecot-core dovecot-pop3d dovecot-submissiond dovecot-lmtpd postfix winbind openssl python3
  krb5-kdc krb5-admin-server krb5-user dovecot-gssapi"
missing=""
for p in $PACKAGES "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && { echo "install.sh: all packages present"; exit 0; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing </dev/null
for pair in dovecot:dovecot-core postfix:postfix winbind:winbind krb5-kdc:krb5-kdc \
            krb5-admin-server:krb5-admin-server; do
  svc=${pair%%:*} pkg=${pair#*:}
  case " $missing " in *" $pkg "*) ;; *) continue ;; esac
  [ -x "/etc/init.d/$svc" ] || continue
  if service "$svc" status >/dev/null 2>&1; then
    echo "install.sh: stopping system $svc started by its package"
    service "$svc" stop || true
  fi
done
echo "install.sh: installed:$missing"

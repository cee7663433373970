#!/bin/bash
# tools/mkrealm.sh KRBDIR REALM PORT USER PASS LOGDIR -- a throw-away MIT Kerberos realm, all of
# it under KRBDIR (called by start.sh; krb5kdc itself is started by start.sh):
#   krb5.conf       the clients' and Dovecot's profile (KRB5_CONFIG): default realm REALM, its KDC
#                   on 127.0.0.1:PORT, no DNS (rdns, dns_canonicalize_hostname, lookups off),
#                   default ccache KRBDIR/ccache.default (never /tmp/krb5cc_UID)
#   kdc.conf        the KDC's profile (KRB5_KDC_PROFILE): UDP+TCP on 127.0.0.1:PORT, database,
#                   stash and ACL in KRBDIR, log in LOGDIR/krb5kdc.log
#   principal*      the database (kdb5_util create -s, random master password)
#   service.keytab  pop/localhost and smtp/localhost (Dovecot's auth_krb5_keytab; readable by
#                   the dovecot user)
#   client.keytab   USER@REALM (password PASS, key kept: ktadd -norandkey) for keytab logons
#   rcache/         replay caches of the acceptors (KRB5RCACHEDIR)
# Kept across restarts when the database exists. Must run as root (the keytab's owner).
set -euo pipefail
[ $# -eq 6 ] || { echo "usage: mkrealm.sh KRBDIR REALM PORT USER PASS LOGDIR" >&2; exit 2; }
K=$1 REALM=$2 PORT=$3 USER=$4 PASS=$5 LOG=$6
mkdir -p "$K/rcache"
chmod 0755 "$K"
chmod 1777 "$K/rcache"   # Dovecot's auth process (user dovecot) and the tests (root) write here

cat > "$K/krb5.conf" <<EOF
[libdefaults]
    default_realm = $REALM
    dns_lookup_realm = false
    dns_lookup_kdc = false
    rdns = false
    dns_canonicalize_hostname = false
    default_ccache_name = FILE:$K/ccache.default
    udp_preference_limit = 1
[realms]
    $REALM = {
        kdc = 127.0.0.1:$PORT
    }
[domain_realm]
    localhost = $REALM
    127.0.0.1 = $REALM
EOF
cat > "$K/kdc.conf" <<EOF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$PORT
    kdc_tcp_listen = 127.0.0.1:$PORT
[realms]
    $REALM = {
        database_name = $K/principal
        key_stash_file = $K/stash
        acl_file = $K/kadm5.acl
        max_life = 10h
        max_renewable_life = 0
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }
[logging]
    kdc = FILE:$LOG/krb5kdc.log
    admin_server = FILE:$LOG/kadmin.log
    default = FILE:$LOG/krb5.log
EOF
chmod 0644 "$K/krb5.conf" "$K/kdc.conf"
export KRB5_CONFIG=$K/krb5.conf KRB5_KDC_PROFILE=$K/kdc.conf
[ -s "$K/principal" ] && [ -s "$K/service.keytab" ] && [ -s "$K/client.keytab" ] && exit 0

rm -f "$K"/principal* "$K/stash" "$K/service.keytab" "$K/client.keytab"
: > "$K/kadm5.acl"
kdb5_util create -s -r "$REALM" -P "$(head -c 24 /dev/urandom | base64)" >/dev/null
kadm() {  # kadmin.local prints its notices ("No policy specified ...") on stderr
  local out
  out=$(kadmin.local -r "$REALM" -q "$1" 2>&1) || { echo "$out" >&2; return 1; }
  ! grep -v -e '^Authenticating as' -e '^No policy specified' <<<"$out" | grep -qi -e error -e 'not found' -e denied ||
    { echo "$out" >&2; return 1; }
}
kadm "addprinc -pw $PASS $USER"
kadm "addprinc -randkey pop/localhost"
kadm "addprinc -randkey smtp/localhost"
kadm "ktadd -k $K/service.keytab pop/localhost smtp/localhost"
kadm "ktadd -norandkey -k $K/client.keytab $USER"
chown root:dovecot "$K/service.keytab" 2>/dev/null || true
chmod 0640 "$K/service.keytab"
chmod 0600 "$K/client.keytab"

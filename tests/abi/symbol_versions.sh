#!/bin/sh
# symbol_versions.sh LIBRARY — the version nodes of the exported symbols: every name of 0.1 keeps
# UPOPMAIL_0, the additions of 0.2 (upop_strerror, upop_retrieve, the sending calls, upop_find_uidl, upop_noop, upop_reset) are UPOPMAIL_0.2, and no later name lands in UPOPMAIL_0.
set -u
lib=$1
v01="upop_abi_version upop_add_attachment_from_file upop_add_inline_from_file upop_cancel
upop_clear_mail upop_connect upop_create upop_delete_mail upop_destroy upop_disconnect
upop_drivers_json upop_free upop_get_mail upop_get_mail_x upop_get_raw_mail upop_get_raw_mail_x
upop_get_recipient_details upop_get_security upop_get_smtp_response upop_last_error upop_list_mail
upop_list_mail_x upop_registry_add_path upop_send upop_send_mail upop_set_bcc_list
upop_set_cc_list upop_set_from upop_set_message upop_set_message_id upop_set_option
upop_set_priority upop_set_progress upop_set_reply_to upop_set_security upop_set_subject
upop_set_to_list upop_set_trace upop_version"
# "name version" of every defined dynamic upop_ symbol
table=$(objdump -T "$lib" | awk '$NF ~ /^upop_/ && $0 !~ /\*UND\*/ {print $NF, $(NF-1)}') || exit 1
fail=0
node_of() { echo "$table" | awk -v n="$1" '$1 == n {print $2}'; }
for n in $v01; do
  v=$(node_of "$n")
  [ "$v" = "UPOPMAIL_0" ] || { echo "$n: version node '$v', expected UPOPMAIL_0"; fail=1; }
done
for n in upop_strerror upop_retrieve upop_find_uidl upop_noop upop_reset upop_send_raw upop_send_raw_file upop_set_envelope_from upop_add_header upop_add_attachment_from_memory; do
  v=$(node_of "$n")
  [ "$v" = "UPOPMAIL_0.2" ] || { echo "$n: version node '$v', expected UPOPMAIL_0.2"; fail=1; }
done
for n in $(echo "$table" | awk '$2 == "UPOPMAIL_0" {print $1}'); do
  echo " $v01 " | tr '\n' ' ' | grep -q " $n " || { echo "$n: a name after 0.1 in UPOPMAIL_0"; fail=1; }
done
[ $fail = 0 ] && echo "symbol versions: $(echo "$table" | wc -l) symbols as expected"
exit $fail

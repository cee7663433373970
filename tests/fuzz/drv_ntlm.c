/* The driver source drivers/auth_ntlm/auth_ntlm.c compiled into a fuzz target; its entry point is renamed so
 * that several drivers can live in one program (fake_host.hpp runs them). */
#define upopd_entry upopd_entry_ntlm
#include "../../drivers/auth_ntlm/auth_ntlm.c"

/* The driver source drivers/auth_oauthbearer/auth_oauthbearer.c compiled into a fuzz target; its entry point is renamed so
 * that several drivers can live in one program (fake_host.hpp runs them). */
#define upopd_entry upopd_entry_oauthbearer
#include "../../drivers/auth_oauthbearer/auth_oauthbearer.c"

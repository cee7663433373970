/* The driver source drivers/auth_xoauth2/auth_xoauth2.c compiled into a fuzz target; its entry point is renamed so
 * that several drivers can live in one program (fake_host.hpp runs them). */
#define upopd_entry upopd_entry_xoauth2
#include "../../drivers/auth_xoauth2/auth_xoauth2.c"

/* The driver source drivers/auth_cram_md5/auth_cram_md5.c compiled into a fuzz target; its entry point is renamed so
 * that several drivers can live in one program (fake_host.hpp runs them). */
#define upopd_entry upopd_entry_cram_md5
#include "../../drivers/auth_cram_md5/auth_cram_md5.c"

/* A plugin built for a future driver ABI: the host must reject it and say why. */
#include "upopmail_driver.h"

UPOPD_EXPORT int upopd_entry(uint32_t host_abi, uint32_t *plugin_abi, const upopd_driver *const **drivers,
                             size_t *count)
{
    (void)host_abi;
    *plugin_abi = 99;
    *drivers = 0;
    *count = 0;
    return 0;
}

/* A plugin without the entry point: the host must reject it and say why. */
int upopt_not_the_entry(void);
__attribute__((visibility("default"))) int upopt_not_the_entry(void) { return 42; }

/* placeholder until the config parser lands */
int cfg_placeholder(void);
int cfg_placeholder(void) { return 0; }

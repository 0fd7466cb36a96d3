/* process — the JACK process callback (process.c): the only real-time code.
 * engine.c installs it; nothing else calls into it. */
#ifndef STEMCAP_PROCESS_H
#define STEMCAP_PROCESS_H

struct engine;

/* Installs the real-time callbacks on the engine's JACK client (before
 * activation).  Returns 0, or -1 (logged). */
int process_install(struct engine *e);

#endif

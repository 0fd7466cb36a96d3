/* input.c - stemcap-meter's keys: q quit, s start/stop a take, r reset the shown holds and clip
 * counts, 1-8 arm/disarm that stem, ^L redraw; a resize comes as KEY_RESIZE. A key that needs
 * the daemon says in the footer when it cannot be sent; its result shows when the daemon's answer
 * (or push) comes back.
 */
#include "meter.h"

#include <curses.h>
#include <string.h>

static void
key_start_stop(struct meter *mt)
{
    if (!model_connected(mt) || !mt->st.known) {
        model_note(mt, true, "not connected: cannot start or stop");
    } else if (strcmp(mt->st.state, "recording") == 0) {
        model_send(mt, PROTO_STOP);
        model_note(mt, false, "stopping the take ...");
    } else {
        model_send(mt, PROTO_START);
        model_note(mt, false, "starting a take ...");
    }
}

static void
key_arm(struct meter *mt, int n)
{
    if (!model_connected(mt)) {
        model_note(mt, true, "not connected: cannot arm stem %d", n);
    } else if (mt->layout_known && !mt->stems[n].registered) {
        model_note(mt, true, "stem %d is not registered", n);
    } else {
        model_send_arm(mt, n, !mt->stems[n].armed);
    }
}

static void
on_key(struct meter *mt, int key)
{
    switch (key) {
    case 'q':
    case 'Q':
    case 3: /* ^C when the terminal does not send SIGINT */
        mt->quit = true;
        break;
    case KEY_RESIZE:
        mt->dirty = true;
        break;
    case 12: /* ^L */
        clearok(curscr, TRUE);
        mt->dirty = true;
        break;
    case 's':
    case 'S':
        key_start_stop(mt);
        break;
    case 'r':
    case 'R':
        model_reset_holds(mt);
        break;
    default:
        if (key >= '1' && key <= '0' + PROTO_MAX_STEMS) {
            key_arm(mt, key - '0');
        }
        break;
    }
}

void
input_keys(struct meter *mt)
{
    int key;

    while ((key = getch()) != ERR) {
        on_key(mt, key);
    }
}

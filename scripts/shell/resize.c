// SPDX-License-Identifier: GPL-2.0
/*
 * resize: tell the kernel the size of the terminal at the other end of a
 * serial line, as xterm's resize(1) does. A serial port carries bytes, not a
 * window size, so `make shell` runs this in the guest at each login (and the
 * learner may run it again after resizing the window).
 *
 * It moves the cursor far past the bottom-right corner, asks the terminal
 * where the cursor ended up (ESC [ 6 n, answered with ESC [ rows ; cols R),
 * puts it back, and sets the answer with TIOCSWINSZ. No answer within a
 * second (no terminal emulator at the other end) changes nothing.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

int main(void)
{
	struct termios saved, raw;
	struct winsize ws = { 0 };
	char buf[32];
	size_t len = 0;
	int rows, cols, ok = 0;

	if (!isatty(0) || tcgetattr(0, &saved))
		return 1;
	raw = saved;
	raw.c_lflag &= ~(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	tcsetattr(0, TCSANOW, &raw);
	/* Save the cursor, go to row 999 col 999 (clamped), ask, restore. */
	if (write(1, "\0337\033[999;999H\033[6n\0338", 18) != 18)
		goto out;
	while (len < sizeof(buf) - 1) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 1000) <= 0)
			break;
		n = read(0, buf + len, 1);
		if (n <= 0)
			break;
		len += n;
		if (buf[len - 1] == 'R')
			break;
	}
	buf[len] = '\0';
	{
		char *esc = strrchr(buf, '\033');

		if (esc && sscanf(esc, "\033[%d;%dR", &rows, &cols) == 2 &&
		    rows > 0 && cols > 0) {
			ws.ws_row = rows;
			ws.ws_col = cols;
			ok = ioctl(0, TIOCSWINSZ, &ws) == 0;
		}
	}
out:
	tcsetattr(0, TCSANOW, &saved);
	return ok ? 0 : 1;
}

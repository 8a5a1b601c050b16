//! The terminal of a live view (`gosleuth top`): keys one at a time
//! without echo, the window's size, the alternate screen; always put back.

use std::io::Write;

/// The terminal in a mode where keys arrive one by one without echo; put
/// back as it was when dropped (Ctrl-C still signals).
pub struct RawTerminal {
    saved: libc::termios,
}

impl RawTerminal {
    /// Enters the mode (and the alternate screen); `None` when standard
    /// input is not a terminal.
    pub fn enter() -> Option<RawTerminal> {
        // SAFETY: tcgetattr/tcsetattr on our standard input with a termios
        // we own; the saved state is restored in Drop.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let saved = t;
            t.c_lflag &= !(libc::ICANON | libc::ECHO);
            t.c_cc[libc::VMIN] = 0;
            t.c_cc[libc::VTIME] = 0;
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return None;
            }
            // The alternate screen, without a cursor.
            let mut out = std::io::stdout();
            let _ = out.write_all(b"\x1b[?1049h\x1b[?25l");
            let _ = out.flush();
            Some(RawTerminal { saved })
        }
    }

    /// A key typed since the last call, if any.
    pub fn key(&self) -> Option<u8> {
        let mut b = [0u8; 1];
        // SAFETY: reads at most one byte into `b`; VMIN=0 makes it return
        // at once when nothing was typed.
        let n = unsafe { libc::read(0, b.as_mut_ptr().cast(), 1) };
        (n == 1).then_some(b[0])
    }

    /// (columns, rows).
    pub fn size(&self) -> (usize, usize) {
        // SAFETY: TIOCGWINSZ fills the winsize struct it is given.
        unsafe {
            let mut w: libc::winsize = std::mem::zeroed();
            if libc::ioctl(1, libc::TIOCGWINSZ, &mut w) == 0 && w.ws_col > 0 {
                (w.ws_col as usize, w.ws_row as usize)
            } else {
                (100, 40)
            }
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let mut out = std::io::stdout();
        let _ = out.write_all(b"\x1b[?25h\x1b[?1049l");
        let _ = out.flush();
        // SAFETY: restores the attributes saved in `enter`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
    }
}

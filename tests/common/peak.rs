//! Waiting for a child process while reading its own peak resident set. Shared by the tests
//! (`run_measured`) and `benches/scale.rs`, which includes this file by its path.

/// Waits for `pid` to end (reaping it) and returns its wait status and its own high-water mark
/// (`VmHWM`, in kB), read until it exits. `ru_maxrss` would also count the parent, whose memory
/// the child shares between its spawn and its exec: readings taken before the exec, while the
/// child still has the parent's name, are left out.
pub fn wait_with_peak(pid: libc::pid_t) -> (i32, u64) {
    let own_name = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| field(&s, "Name:").map(str::to_string));
    let status_file = format!("/proc/{pid}/status");
    let (mut status, mut peak_kb) = (0, 0);
    loop {
        // One read per poll: the name and the mark of the same moment.
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if field(&text, "Name:").is_some_and(|name| Some(name) != own_name.as_deref()) {
                let hwm = field(&text, "VmHWM:").and_then(|v| v.parse::<u64>().ok());
                peak_kb = peak_kb.max(hwm.unwrap_or(0));
            }
        }
        // SAFETY: plain FFI call with a valid pointer; the caller does not wait for `pid` itself.
        let reaped = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if reaped == pid {
            return (status, peak_kb);
        }
        if reaped < 0 {
            let error = std::io::Error::last_os_error();
            assert_eq!(error.kind(), std::io::ErrorKind::Interrupted, "waitpid failed: {error}");
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The first word after `name` in the text of a `/proc/…/status` file.
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)
}

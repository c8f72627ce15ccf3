//! CPU time and memory of a process, from `/proc/<pid>/stat` and `/proc/<pid>/status`.

use std::time::Duration;

/// Clock ticks per second of `utime`/`stime` (`sysconf(_SC_CLK_TCK)`; 100 on Linux, and
/// read from `getconf CLK_TCK` at start when available).
pub fn clock_ticks() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|t: &u64| *t > 0)
        .unwrap_or(100)
}

/// User + system CPU time the process has used so far (all its threads).
pub fn cpu_time(pid: u32, ticks_per_sec: u64) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = utime + stime;
    Some(Duration::from_micros(ticks * 1_000_000 / ticks_per_sec))
}

/// Memory figures in KiB: (`VmRSS`, `VmHWM` = peak RSS).
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Number of threads of the process.
pub fn threads(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("Threads:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Machine-wide CPU time from `/proc/stat` (all CPUs), in ticks.
#[derive(Debug, Clone, Copy)]
pub struct MachineCpu {
    /// Busy: user, nice, system, irq, softirq.
    pub busy: u64,
    /// Stolen by the hypervisor.
    pub steal: u64,
    /// Everything (busy, idle, iowait, steal).
    pub total: u64,
}

pub fn machine_cpu() -> Option<MachineCpu> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    let busy = get(0) + get(1) + get(2) + get(5) + get(6);
    let steal = get(7);
    Some(MachineCpu {
        busy,
        steal,
        total: busy + get(3) + get(4) + steal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(cpu_time(pid, clock_ticks()).is_some());
        let (rss, hwm) = memory_kib(pid).expect("status");
        assert!(hwm >= rss && rss > 0);
        assert!(threads(pid).is_some_and(|t| t >= 1));
        let m = machine_cpu().expect("/proc/stat");
        assert!(m.total >= m.busy);
    }
}

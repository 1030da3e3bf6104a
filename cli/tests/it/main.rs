//! Integration tests of the `corral` binary: real processes on loopback
//! ports the OS picks, real clients, no fixed sleeps.

mod t30_cli;
mod t31_dev;
mod t32_dev_tls;
mod t33_shell;
mod t34_shell_pty;
mod t35_shell_transfer;
mod t36_shell_quota;

package stripemock

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes stripe-mock quit when the test binary dies.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

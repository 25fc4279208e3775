package pgcluster

import "syscall"

// setParentDeathSignal makes the server quit when the process that started it
// dies, so a killed test binary or dev server leaves no stray postgres.
func setParentDeathSignal(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGQUIT }

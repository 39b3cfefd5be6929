// What /RESTART does with the process. Under a supervisor (systemd, a container runtime) a copy
// started by the server would live outside it: systemd kills it with the service's cgroup, and a
// container ends with its first process. So there the server exits with RESTART_EXIT_STATUS and
// the supervisor starts it again; alone, it starts a copy of itself with the same command line.

/**
 * The exit status of RESTART under a supervisor: 75 (EX_TEMPFAIL in sysexits.h, "try again").
 * The shipped systemd unit lists it in RestartForceExitStatus=.
 */
export const RESTART_EXIT_STATUS = 75;

export type RestartSetting = 'auto' | 'exit' | 'reexec';

/** How RESTART ends the process, and why (for the log). */
export interface RestartPlan {
  how: 'exit' | 'reexec';
  why: string;
}

/**
 * The supervisor this process runs under, if any: systemd sets INVOCATION_ID (and NOTIFY_SOCKET
 * for Type=notify) in a service's environment; Docker creates /.dockerenv and Podman
 * /run/.containerenv in the container.
 */
export function detectSupervisor(env: NodeJS.ProcessEnv, exists: (path: string) => boolean): string | undefined {
  if (env.INVOCATION_ID || env.NOTIFY_SOCKET) return 'systemd';
  if (exists('/.dockerenv')) return 'docker';
  if (exists('/run/.containerenv')) return 'container';
  return undefined;
}

/** `[server] restart`: "exit" or "reexec" as set, or "auto": exit under a supervisor, re-execute otherwise. */
export function planRestart(setting: RestartSetting, env: NodeJS.ProcessEnv, exists: (path: string) => boolean): RestartPlan {
  if (setting !== 'auto') return { how: setting, why: 'server.restart' };
  const supervisor = detectSupervisor(env, exists);
  return supervisor ? { how: 'exit', why: supervisor } : { how: 'reexec', why: 'no supervisor' };
}

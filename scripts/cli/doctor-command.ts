import type { CommandDefinition, JsonOption } from './command.js';
import { jsonOption } from './command.js';
import { allRequiredPass, formatDoctor, runDoctor } from './doctor/doctor.js';
import { ReportedFailure, UsageError } from './format.js';

/** Flags of `mlops doctor`. */
interface DoctorFlags extends JsonOption {
  deploy?: boolean;
  project?: string;
  timeout: string;
}

/** `mlops doctor [--deploy]`: checks what the local platform (and a deploy) needs, with the command that fixes each missing thing. */
export const doctorCommand: CommandDefinition = (program, { io }) => {
  program
    .command('doctor')
    .description('check what the local platform, the tests and (with --deploy) a deploy need, and say how to fix what is missing')
    .option('--deploy', 'also check gcloud credentials, the project, billing, enabled APIs and your roles (needs the network)')
    .option('--project <id>', 'the project to check (default: mlops.deploy.json, then gcloud config)')
    .option('--timeout <seconds>', 'deadline of each check', '20')
    .addHelpText('after', '\nExit code 0 when every required check passes, 1 otherwise.')
    .addOption(jsonOption())
    .action(async (flags: DoctorFlags) => {
      const timeoutSeconds = Number(flags.timeout);
      if (!(timeoutSeconds > 0)) throw new UsageError('--timeout expects a number of seconds.');
      const deploy = flags.deploy ?? false;
      const results = await runDoctor({ deploy, project: flags.project, timeoutMs: timeoutSeconds * 1000 });
      const passed = allRequiredPass(results);
      io.print(flags.json ? JSON.stringify({ ok: passed, checks: results }, null, 2) : formatDoctor(results, { deploy }));
      const failed = results.filter((result) => result.required && result.status !== 'ok').length;
      if (!passed) throw new ReportedFailure(`${failed} required check${failed === 1 ? '' : 's'} did not pass.`);
    });
};

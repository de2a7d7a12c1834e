using McuFormer.Compiler.Commands;

return Cli.Run(args);

@echo off
rem Runs once as SYSTEM when Windows Setup finishes.
reg add "HKLM\SOFTWARE\Contoso" /v Imaged /t REG_SZ /d yes /f

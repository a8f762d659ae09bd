; Gossamer's Windows installer (Inno Setup 6.3 or newer). Build it on Windows from the repository:
;
;     iscc installer\windows\gossamer.iss
;     iscc /DPythonInstaller=C:\path\python-3.12.10-amd64.exe installer\windows\gossamer.iss
;
; or anywhere with python3 installer/windows/compile.py (ISCC under wine off Windows; it fails on any
; compiler warning and says what the setup packs; installer/README.md).
;
; The first form needs Python 3.11+ (64-bit, python.org or Microsoft Store) on the user's machine and
; says so at start when there is none; the second bundles python.org's own installer and runs it, per
; user and quietly, when no Python 3.11+ is found. (Not the "embeddable" Python: it has no venv or pip.)
;
; What it does: copies the app's sources to %LOCALAPPDATA%\Programs\Gossamer (a per-user install, no admin
; rights), then runs installer\bootstrap.py setup there, which makes {app}\.venv with the torch build the
; user's GPU and driver need (CUDA from download.pytorch.org, or the CPU build) and pip-installs Gossamer.
; Shortcuts start {app}\.venv\Scripts\pythonw.exe -m app. The uninstaller removes all of that and asks
; before deleting the downloaded models in %LOCALAPPDATA%\Gossamer\Gossamer\models (engine/paths.py).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Gossamer"
#define AppUserModelID "Gossamer.Gossamer"

[Setup]
; Never change AppId: Windows finds the installed copy (for updates and uninstall) by it.
AppId={{5B10C0B5-F68A-4941-9991-80C619273876}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Gossamer
AppComments=Chat with gpt-oss-20b on your own computer, offline
; Paths below are relative to the repository root.
SourceDir=..\..
OutputDir=dist
OutputBaseFilename=GossamerSetup-{#AppVersion}
PrivilegesRequired=lowest
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
SetupIconFile=resources\icons\gossamer.ico
UninstallDisplayIcon={app}\resources\icons\gossamer.ico
UninstallDisplayName={#AppName}
WizardStyle=modern
Compression=lzma2
SolidCompression=yes
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "app\*"; DestDir: "{app}\app"; Excludes: "__pycache__,*.pyc"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "engine\*"; DestDir: "{app}\engine"; Excludes: "__pycache__,*.pyc"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "installer\*"; DestDir: "{app}\installer"; Excludes: "__pycache__,*.pyc"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "resources\*"; DestDir: "{app}\resources"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "pyproject.toml"; DestDir: "{app}"; Flags: ignoreversion
Source: "README.md"; DestDir: "{app}"; Flags: ignoreversion
Source: "LICENSE"; DestDir: "{app}"; Flags: ignoreversion
#ifdef PythonInstaller
Source: "{#PythonInstaller}"; DestName: "python-installer.exe"; Flags: dontcopy
#endif

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\.venv\Scripts\pythonw.exe"; Parameters: "-m app"; WorkingDir: "{app}"; IconFilename: "{app}\resources\icons\gossamer.ico"; AppUserModelID: "{#AppUserModelID}"; Comment: "Chat with gpt-oss-20b, offline"
Name: "{group}\Repair {#AppName} set-up"; Filename: "{code:PythonExe}"; Parameters: """{app}\installer\bootstrap.py"" setup --force"; WorkingDir: "{app}"; IconFilename: "{app}\resources\icons\gossamer.ico"; Comment: "Set up Gossamer's Python environment and PyTorch again"
Name: "{group}\{cm:UninstallProgram,{#AppName}}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\.venv\Scripts\pythonw.exe"; Parameters: "-m app"; WorkingDir: "{app}"; IconFilename: "{app}\resources\icons\gossamer.ico"; AppUserModelID: "{#AppUserModelID}"; Tasks: desktopicon

[Run]
Filename: "{app}\.venv\Scripts\pythonw.exe"; Parameters: "-m app"; WorkingDir: "{app}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent; Check: VenvReady

[UninstallDelete]
; What the set-up made after the install: the venv (with torch), pip's metadata, Python's caches.
Type: filesandordirs; Name: "{app}\.venv"
Type: filesandordirs; Name: "{app}\gossamer.egg-info"
Type: filesandordirs; Name: "{app}\build"
Type: filesandordirs; Name: "{app}\app"
Type: filesandordirs; Name: "{app}\engine"
Type: filesandordirs; Name: "{app}\installer"
Type: filesandordirs; Name: "{app}\resources"
Type: dirifempty; Name: "{app}"

[Code]
var
  PythonPath: String;

{ Python 3.11+ as PEP 514 registers it (python.org and Store installs, per user or for all users). }
function PythonAt(const RootKey: Integer; const Version: String; var Exe: String): Boolean;
var
  Key, Dir: String;
begin
  Key := 'Software\Python\PythonCore\' + Version + '\InstallPath';
  Result := RegQueryStringValue(RootKey, Key, 'ExecutablePath', Exe) and FileExists(Exe);
  if not Result and RegQueryStringValue(RootKey, Key, '', Dir) then
  begin
    Exe := AddBackslash(Dir) + 'python.exe';
    Result := FileExists(Exe);
  end;
end;

function FindPython(): String;
var
  Versions: TArrayOfString;
  I: Integer;
  Exe: String;
begin
  Result := '';
  { Every torch build the bootstrap may choose has wheels for 3.11 to 3.13; 3.14 lacks the oldest ones. }
  SetArrayLength(Versions, 4);
  Versions[0] := '3.13';
  Versions[1] := '3.12';
  Versions[2] := '3.11';
  Versions[3] := '3.14';
  for I := 0 to GetArrayLength(Versions) - 1 do
    if PythonAt(HKCU, Versions[I], Exe) or PythonAt(HKLM, Versions[I], Exe) then
    begin
      Result := Exe;
      Exit;
    end;
end;

function PythonExe(Param: String): String;
begin
  if PythonPath = '' then
    PythonPath := FindPython();
  Result := PythonPath;
end;

function InitializeSetup(): Boolean;
#ifndef PythonInstaller
var
  ErrorCode: Integer;
#endif
begin
  Result := True;
  PythonPath := FindPython();
#ifndef PythonInstaller
  if PythonPath = '' then
  begin
    if SuppressibleMsgBox('Gossamer needs Python 3.11 or newer (64-bit), and none was found.' + #13#10#13#10 +
        'Install it from python.org (for your user is fine), then run this installer again.' + #13#10#13#10 +
        'Open the download page now?', mbError, MB_YESNO, IDNO) = IDYES then
      ShellExec('open', 'https://www.python.org/downloads/windows/', '', '', SW_SHOWNORMAL, ewNoWait, ErrorCode);
    Result := False;
  end;
#endif
end;

procedure InstallBundledPython();
#ifdef PythonInstaller
var
  ResultCode: Integer;
#endif
begin
#ifdef PythonInstaller
  if PythonPath <> '' then
    Exit;
  WizardForm.StatusLabel.Caption := 'Installing Python for Gossamer...';
  ExtractTemporaryFile('python-installer.exe');
  Exec(ExpandConstant('{tmp}\python-installer.exe'),
    '/quiet InstallAllUsers=0 PrependPath=0 Include_launcher=0 Include_test=0 Shortcuts=0', '',
    SW_SHOWNORMAL, ewWaitUntilTerminated, ResultCode);
  PythonPath := FindPython();
#endif
end;

{ The long part: the venv, torch (up to about 3 GB for a CUDA build) and Gossamer's packages. A console
  window shows pip's progress. }
procedure RunBootstrap();
var
  ResultCode: Integer;
begin
  if PythonPath = '' then
  begin
    SuppressibleMsgBox('No Python 3.11+ was found, so Gossamer is not set up yet. Install Python from ' +
      'python.org, then run "Repair Gossamer set-up" from the Start menu.', mbError, MB_OK, IDOK);
    Exit;
  end;
  WizardForm.StatusLabel.Caption := 'Setting up Python packages and PyTorch (this downloads up to 3 GB)...';
  if not Exec(PythonPath, '"' + ExpandConstant('{app}\installer\bootstrap.py') + '" setup',
      ExpandConstant('{app}'), SW_SHOWNORMAL, ewWaitUntilTerminated, ResultCode) or (ResultCode <> 0) then
    SuppressibleMsgBox('Setting up Gossamer''s Python environment did not finish (exit code ' +
      IntToStr(ResultCode) + '). Check the internet connection, then run "Repair Gossamer set-up" from ' +
      'the Start menu.', mbError, MB_OK, IDOK);
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  { Python before the files and shortcuts (which name its path), the venv after them. }
  if CurStep = ssInstall then
    InstallBundledPython();
  if CurStep = ssPostInstall then
    RunBootstrap();
end;

function VenvReady(): Boolean;
begin
  Result := FileExists(ExpandConstant('{app}\.venv\Scripts\pythonw.exe'));
end;

{ Models are big and slow to download again: delete them only when the user says so. Chats and settings
  (the rest of the data folder) always stay. GOSSAMER_DATA_DIR moves the folder, as in engine/paths.py. }
function ModelsDir(): String;
var
  DataDir: String;
begin
  DataDir := GetEnv('GOSSAMER_DATA_DIR');
  if DataDir = '' then
    DataDir := ExpandConstant('{localappdata}\Gossamer\Gossamer');
  Result := AddBackslash(DataDir) + 'models';
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
var
  Dir: String;
begin
  if CurUninstallStep <> usPostUninstall then
    Exit;
  Dir := ModelsDir();
  if not DirExists(Dir) then
    Exit;
  if UninstallSilent() then
    Exit;
  if MsgBox('Also delete the models Gossamer downloaded?' + #13#10#13#10 + Dir + #13#10#13#10 +
      'Choose No to keep them for a later install. Chats and settings are kept either way.',
      mbConfirmation, MB_YESNO or MB_DEFBUTTON2) = IDYES then
    DelTree(Dir, True, True, True);
end;

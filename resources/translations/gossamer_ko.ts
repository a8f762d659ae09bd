<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ko_KR">
<context>
    <name>ApiIndicator</name>
    <message>
        <location filename="../../app/widgets/api_indicator.py" line="16"/>
        <source>API off</source>
        <translation>API 꺼짐</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/widgets/api_indicator.py" line="22"/>
        <source>API · %n request(s)</source>
        <translation>
            <numerusform>API · 요청 %n건</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../app/widgets/api_indicator.py" line="23"/>
        <source>Other programs can use the model at %1</source>
        <translation>다른 프로그램이 %1에서 모델을 쓸 수 있습니다</translation>
    </message>
</context>
<context>
    <name>ChatHeader</name>
    <message>
        <location filename="../../app/widgets/chat_header.py" line="31"/>
        <location filename="../../app/widgets/chat_header.py" line="32"/>
        <source>Conversation actions</source>
        <translation>대화 메뉴</translation>
    </message>
</context>
<context>
    <name>ChatView</name>
    <message>
        <location filename="../../app/widgets/chat_view.py" line="38"/>
        <source>Conversation</source>
        <translation>대화</translation>
    </message>
    <message>
        <location filename="../../app/widgets/chat_view.py" line="85"/>
        <source>What can I help with?</source>
        <translation>무엇을 도와드릴까요?</translation>
    </message>
    <message>
        <location filename="../../app/widgets/chat_view.py" line="86"/>
        <source>gpt-oss runs on this computer. Nothing you write leaves it.</source>
        <translation>gpt-oss가 이 컴퓨터에서 실행됩니다. 입력한 내용은 밖으로 나가지 않습니다.</translation>
    </message>
</context>
<context>
    <name>CodeBlock</name>
    <message>
        <location filename="../../app/widgets/code_block.py" line="36"/>
        <location filename="../../app/widgets/code_block.py" line="74"/>
        <source>code</source>
        <translation>코드</translation>
    </message>
    <message>
        <location filename="../../app/widgets/code_block.py" line="40"/>
        <location filename="../../app/widgets/code_block.py" line="63"/>
        <source>Copy</source>
        <translation>복사</translation>
    </message>
    <message>
        <location filename="../../app/widgets/code_block.py" line="41"/>
        <location filename="../../app/widgets/code_block.py" line="42"/>
        <source>Copy code</source>
        <translation>코드 복사</translation>
    </message>
    <message>
        <location filename="../../app/widgets/code_block.py" line="57"/>
        <source>Code</source>
        <translation>코드</translation>
    </message>
    <message>
        <location filename="../../app/widgets/code_block.py" line="88"/>
        <source>Copied</source>
        <translation>복사됨</translation>
    </message>
</context>
<context>
    <name>Composer</name>
    <message>
        <location filename="../../app/widgets/composer.py" line="27"/>
        <source>Message gpt-oss…  (Enter to send, Shift+Enter for a new line)</source>
        <translation>gpt-oss에게 메시지 보내기…  (Enter로 전송, Shift+Enter로 줄바꿈)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="28"/>
        <source>Message gpt-oss…  (Enter to send)</source>
        <translation>gpt-oss에게 메시지…  (Enter로 보내기)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="29"/>
        <source>Message gpt-oss…</source>
        <translation>gpt-oss에게 메시지…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="32"/>
        <source>Message</source>
        <translation>메시지</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="39"/>
        <source>Reasoning</source>
        <translation>추론</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="43"/>
        <source>Reasoning effort</source>
        <translation>추론 강도</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="45"/>
        <source>How long the model thinks before it answers. Saved with this conversation.</source>
        <translation>모델이 답하기 전에 얼마나 오래 생각할지 정합니다. 이 대화에 함께 저장됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="47"/>
        <source>Low</source>
        <translation>낮음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="47"/>
        <source>Medium</source>
        <translation>보통</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="47"/>
        <source>High</source>
        <translation>높음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="58"/>
        <location filename="../../app/widgets/composer.py" line="129"/>
        <source>Send</source>
        <translation>보내기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="62"/>
        <location filename="../../app/widgets/composer.py" line="131"/>
        <source>Send message</source>
        <translation>메시지 보내기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="123"/>
        <source>Stop</source>
        <translation>중지</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="124"/>
        <source>Stop the answer (Esc)</source>
        <translation>답변 중지 (Esc)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="125"/>
        <source>Stop answering</source>
        <translation>답변 중지</translation>
    </message>
    <message>
        <location filename="../../app/widgets/composer.py" line="130"/>
        <source>Send (Enter)</source>
        <translation>보내기 (Enter)</translation>
    </message>
</context>
<context>
    <name>ContextNote</name>
    <message>
        <location filename="../../app/widgets/context_note.py" line="54"/>
        <source>Summary</source>
        <translation>요약</translation>
    </message>
    <message>
        <location filename="../../app/widgets/context_note.py" line="57"/>
        <source>Edit the summary</source>
        <translation>요약 편집</translation>
    </message>
    <message>
        <location filename="../../app/widgets/context_note.py" line="62"/>
        <source>Edit summary</source>
        <translation>요약 편집</translation>
    </message>
    <message>
        <location filename="../../app/widgets/context_note.py" line="63"/>
        <source>Cancel</source>
        <translation>취소</translation>
    </message>
    <message>
        <location filename="../../app/widgets/context_note.py" line="64"/>
        <source>Save</source>
        <translation>저장</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/widgets/context_note.py" line="84"/>
        <source>Summary of the %n earlier messages above: the model reads it instead of them.</source>
        <translation>
            <numerusform>위의 이전 메시지 %n개 요약: 모델은 그 메시지 대신 이 요약을 읽습니다.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/widgets/context_note.py" line="93"/>
        <source>The %n earlier messages above are left out of what the model reads: the chat outgrew its context. They stay here and in exports.</source>
        <translation>
            <numerusform>대화가 컨텍스트보다 길어져 위의 이전 메시지 %n개는 모델이 읽는 내용에서 빠졌습니다. 메시지는 여기와 내보내기에 그대로 남아 있습니다.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ConversationActions</name>
    <message>
        <location filename="../../app/window_conversations.py" line="26"/>
        <source>New chat</source>
        <translation>새 대화</translation>
    </message>
    <message>
        <location filename="../../app/window_conversations.py" line="28"/>
        <source>Deleted “%1”.</source>
        <translation>“%1” 대화를 삭제했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/window_conversations.py" line="30"/>
        <source>Undo</source>
        <translation>실행 취소</translation>
    </message>
    <message>
        <location filename="../../app/window_conversations.py" line="56"/>
        <source>Markdown (*.md)</source>
        <translation>Markdown (*.md)</translation>
    </message>
    <message>
        <location filename="../../app/window_conversations.py" line="56"/>
        <source>JSON (*.json)</source>
        <translation>JSON (*.json)</translation>
    </message>
    <message>
        <location filename="../../app/window_conversations.py" line="58"/>
        <source>Export conversation</source>
        <translation>대화 내보내기</translation>
    </message>
    <message>
        <location filename="../../app/window_conversations.py" line="65"/>
        <source>Could not write %1: %2</source>
        <translation>%1에 쓰지 못했습니다: %2</translation>
    </message>
    <message>
        <location filename="../../app/window_conversations.py" line="68"/>
        <source>Exported to %1</source>
        <translation>%1(으)로 내보냈습니다</translation>
    </message>
</context>
<context>
    <name>ConversationListModel</name>
    <message>
        <location filename="../../app/conversation_model.py" line="32"/>
        <location filename="../../app/conversation_model.py" line="34"/>
        <location filename="../../app/conversation_model.py" line="37"/>
        <source>New chat</source>
        <translation>새 대화</translation>
    </message>
</context>
<context>
    <name>DownloadPanel</name>
    <message>
        <location filename="../../app/widgets/download_panel.py" line="24"/>
        <source>Cancel</source>
        <translation>취소</translation>
    </message>
    <message>
        <location filename="../../app/widgets/download_panel.py" line="25"/>
        <source>Stop; what has been downloaded is kept, and Resume continues</source>
        <translation>중지합니다. 받은 부분은 남아 있으며 이어받기로 계속할 수 있습니다</translation>
    </message>
    <message>
        <location filename="../../app/widgets/download_panel.py" line="34"/>
        <source>Progress</source>
        <translation>진행률</translation>
    </message>
    <message>
        <location filename="../../app/widgets/download_panel.py" line="45"/>
        <source>Starting…</source>
        <translation>시작하는 중…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/download_panel.py" line="52"/>
        <source>Downloading</source>
        <translation>다운로드 중:</translation>
    </message>
    <message>
        <location filename="../../app/widgets/download_panel.py" line="53"/>
        <source>Verifying</source>
        <translation>검증 중:</translation>
    </message>
    <message>
        <location filename="../../app/widgets/download_panel.py" line="54"/>
        <source>Copying</source>
        <translation>복사 중:</translation>
    </message>
    <message>
        <location filename="../../app/widgets/download_panel.py" line="67"/>
        <source>%1 left</source>
        <translation>%1 남음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/download_panel.py" line="70"/>
        <source>file %1 of %2</source>
        <translation>파일 %1/%2</translation>
    </message>
</context>
<context>
    <name>EngineErrors</name>
    <message>
        <location filename="../../app/engine_errors.py" line="82"/>
        <source>The model&apos;s files are missing or damaged.</source>
        <translation>모델 파일이 없거나 손상되었습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="83"/>
        <source>Verify the model in Models or download it again, or choose another folder.</source>
        <translation>모델 관리에서 모델을 검증하거나 다시 다운로드하세요. 또는 다른 폴더를 선택하세요.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="88"/>
        <source>This folder does not hold a gpt-oss model.</source>
        <translation>이 폴더에는 gpt-oss 모델이 없습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="89"/>
        <source>Gossamer runs gpt-oss models such as gpt-oss-20b. Choose another folder, or download one in Models.</source>
        <translation>Gossamer는 gpt-oss-20b 같은 gpt-oss 모델을 실행합니다. 다른 폴더를 선택하거나 모델 관리에서 모델을 다운로드하세요.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="96"/>
        <source>There is not enough memory for the model.</source>
        <translation>모델을 실행할 메모리가 부족합니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="97"/>
        <source>Close other programs that use the GPU or memory, or choose a shorter context length or a lower VRAM budget in Settings, then try again.</source>
        <translation>GPU나 메모리를 쓰는 다른 프로그램을 닫거나, 설정에서 컨텍스트 길이를 줄이거나 VRAM 한도를 낮춘 뒤 다시 시도하세요.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="104"/>
        <source>The conversation is longer than the model&apos;s context.</source>
        <translation>대화가 모델의 컨텍스트보다 깁니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="105"/>
        <source>Start a new conversation, or choose a longer context length in Settings.</source>
        <translation>새 대화를 시작하거나 설정에서 더 긴 컨텍스트 길이를 선택하세요.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="110"/>
        <source>The model&apos;s files could not be downloaded or copied.</source>
        <translation>모델 파일을 다운로드하거나 복사하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="111"/>
        <source>Check the internet connection and the free disk space, then try again: a download goes on where it stopped.</source>
        <translation>인터넷 연결과 디스크 여유 공간을 확인한 뒤 다시 시도하세요. 다운로드는 멈춘 곳부터 이어집니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="118"/>
        <source>Some of the model&apos;s files are not what was published.</source>
        <translation>일부 모델 파일이 배포된 파일과 다릅니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="119"/>
        <source>Download the model again to replace them, or import it again from a good copy.</source>
        <translation>모델을 다시 다운로드해 바꾸거나, 온전한 사본에서 다시 가져오세요.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="125"/>
        <source>The model is in use.</source>
        <translation>모델을 사용하는 중입니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="126"/>
        <source>Load another model, or close the Gossamer window that uses this one, then try again.</source>
        <translation>다른 모델을 불러오거나 이 모델을 쓰는 Gossamer 창을 닫은 뒤 다시 시도하세요.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="132"/>
        <source>The model produced invalid numbers, so the answer stopped.</source>
        <translation>모델이 잘못된 수를 내놓아서 답변이 멈췄습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="133"/>
        <source>Its files may be damaged: verify the model in Models and download again what is broken.</source>
        <translation>모델 파일이 손상되었을 수 있습니다. 모델 관리에서 모델을 검증하고 손상된 파일을 다시 다운로드하세요.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="147"/>
        <source>Could not load %1.</source>
        <translation>%1을(를) 불러오지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="148"/>
        <source>Could not download %1.</source>
        <translation>%1을(를) 다운로드하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="149"/>
        <source>Could not verify %1.</source>
        <translation>%1을(를) 검증하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="150"/>
        <source>Could not delete %1.</source>
        <translation>%1을(를) 삭제하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="151"/>
        <source>Could not import %1.</source>
        <translation>%1을(를) 가져오지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="152"/>
        <source>Could not move the models to %1.</source>
        <translation>모델을 %1(으)로 옮기지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="153"/>
        <source>Could not list the models.</source>
        <translation>모델 목록을 읽지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="159"/>
        <source>Gossamer could not do that.</source>
        <translation>Gossamer가 이 작업을 하지 못했습니다.</translation>
    </message>
</context>
<context>
    <name>EngineNotices</name>
    <message>
        <location filename="../../app/engine_notices.py" line="24"/>
        <source>The GPU kernels (Triton) failed, so Gossamer now uses the slower PyTorch path. Answers may be slower; the log says why.</source>
        <translation>GPU 커널(Triton)이 실패해서 이제 Gossamer는 더 느린 PyTorch 경로를 씁니다. 답변이 느려질 수 있으며, 이유는 로그에 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_notices.py" line="40"/>
        <source>The CPU&apos;s fast vector kernels failed on this processor, so Gossamer now uses its portable kernels. Answers may be slower; the log says why.</source>
        <translation>이 프로세서에서 CPU의 빠른 벡터 커널이 실패해서 이제 Gossamer는 범용 커널을 씁니다. 답변이 느려질 수 있으며, 이유는 로그에 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_notices.py" line="45"/>
        <source>The CPU&apos;s fast kernels (numba) failed on this processor, so Gossamer now uses the slower PyTorch path. Answers may be slower; the log says why.</source>
        <translation>이 프로세서에서 CPU의 빠른 커널(numba)이 실패해서 이제 Gossamer는 더 느린 PyTorch 경로를 씁니다. 답변이 느려질 수 있으며, 이유는 로그에 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_notices.py" line="56"/>
        <source>The GPU ran out of memory, so Gossamer now uses at most %1 of it. Answers may be slower.</source>
        <translation>GPU 메모리가 부족해서 이제 Gossamer는 GPU 메모리를 최대 %1까지만 씁니다. 답변이 느려질 수 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_notices.py" line="61"/>
        <source>The GPU ran out of memory, so Gossamer now uses at most %1 of it and the context is shortened to %2 tokens. Answers may be slower.</source>
        <translation>GPU 메모리가 부족해서 이제 Gossamer는 GPU 메모리를 최대 %1까지만 쓰고 컨텍스트를 %2토큰으로 줄였습니다. 답변이 느려질 수 있습니다.</translation>
    </message>
</context>
<context>
    <name>EngineWorker</name>
    <message>
        <location filename="../../app/worker.py" line="99"/>
        <location filename="../../app/worker.py" line="133"/>
        <source>The model could not be loaded.</source>
        <translation>모델을 불러오지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/worker.py" line="189"/>
        <source>No model is loaded. Choose a model in Models, then try again.</source>
        <translation>불러온 모델이 없습니다. 모델 관리에서 모델을 고른 뒤 다시 시도하세요.</translation>
    </message>
    <message>
        <location filename="../../app/worker.py" line="255"/>
        <source>The answer could not be generated.</source>
        <translation>답변을 생성하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="54"/>
        <source>The computer ran out of memory. Close other programs, or choose a smaller context length in Settings, then try again.</source>
        <translation>컴퓨터의 메모리가 부족합니다. 다른 프로그램을 닫거나 설정에서 컨텍스트 길이를 줄인 뒤 다시 시도하세요.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="61"/>
        <source>This looks like a bug in Gossamer. The details below and the log file help to report it.</source>
        <translation>Gossamer의 버그로 보입니다. 아래 세부 정보와 로그 파일을 함께 알려 주시면 도움이 됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/engine_errors.py" line="168"/>
        <source>Log file:</source>
        <translation>로그 파일:</translation>
    </message>
</context>
<context>
    <name>Formatting</name>
    <message numerus="yes">
        <location filename="../../app/formatting.py" line="44"/>
        <source>%n s</source>
        <comment>seconds</comment>
        <translation>
            <numerusform>%n초</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../app/formatting.py" line="47"/>
        <source>%1 min %2 s</source>
        <translation>%1분 %2초</translation>
    </message>
    <message>
        <location filename="../../app/formatting.py" line="49"/>
        <source>%1 h %2 min</source>
        <translation>%1시간 %2분</translation>
    </message>
    <message>
        <location filename="../../app/formatting.py" line="53"/>
        <source>%1/s</source>
        <translation>%1/초</translation>
    </message>
    <message>
        <location filename="../../app/formatting.py" line="71"/>
        <source>Today</source>
        <translation>오늘</translation>
    </message>
    <message>
        <location filename="../../app/formatting.py" line="73"/>
        <source>Yesterday</source>
        <translation>어제</translation>
    </message>
    <message>
        <location filename="../../app/formatting.py" line="75"/>
        <source>Previous 7 days</source>
        <translation>지난 7일</translation>
    </message>
    <message>
        <location filename="../../app/formatting.py" line="77"/>
        <source>Previous 30 days</source>
        <translation>지난 30일</translation>
    </message>
</context>
<context>
    <name>LocalApi</name>
    <message>
        <location filename="../../app/local_api.py" line="79"/>
        <source>The Local API could not start on port %1. Choose another port in Settings.</source>
        <translation>로컬 API를 포트 %1에서 시작할 수 없습니다. 설정에서 다른 포트를 고르세요.</translation>
    </message>
</context>
<context>
    <name>LocalApiPanel</name>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="30"/>
        <source>Serve the model to other programs on this computer</source>
        <translation>이 컴퓨터의 다른 프로그램에 모델 제공</translation>
    </message>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="31"/>
        <source>Local API</source>
        <translation>로컬 API</translation>
    </message>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="32"/>
        <source>Local &amp;API:</source>
        <translation>로컬 API(&amp;A):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="35"/>
        <source>Any free port</source>
        <translation>비어 있는 아무 포트</translation>
    </message>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="36"/>
        <source>&amp;Port:</source>
        <translation>포트(&amp;P):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="37"/>
        <source>Base URL:</source>
        <translation>기본 URL:</translation>
    </message>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="37"/>
        <source>Copy the base URL</source>
        <translation>기본 URL 복사</translation>
    </message>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="38"/>
        <source>API key:</source>
        <translation>API 키:</translation>
    </message>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="38"/>
        <source>Copy the API key</source>
        <translation>API 키 복사</translation>
    </message>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="56"/>
        <source>Copy</source>
        <translation>복사</translation>
    </message>
    <message>
        <location filename="../../app/widgets/local_api_panel.py" line="86"/>
        <source>Programs such as Open WebUI, Continue or Codex CLI can use the loaded model with this address and key. They share the model with your chats, one answer at a time, and their requests are not saved in your chats.</source>
        <translation>Open WebUI, Continue, Codex CLI 같은 프로그램이 이 주소와 키로 불러온 모델을 쓸 수 있습니다. 채팅과 모델을 함께 쓰며 한 번에 한 답씩 처리하고, 이 요청들은 채팅에 저장되지 않습니다.</translation>
    </message>
</context>
<context>
    <name>LongContext</name>
    <message>
        <location filename="../../app/long_context.py" line="234"/>
        <source>This chat is full: its prompt would be %1 tokens, and %2 leave room for an answer. Start a new chat, or let this one leave out or summarise its oldest turns.</source>
        <translation>이 대화가 가득 찼습니다. 프롬프트가 %1토큰이 되는데, 답변할 자리를 남기려면 %2토큰까지만 됩니다. 새 대화를 시작하거나, 이 대화의 가장 오래된 차례를 빼거나 요약하게 하세요.</translation>
    </message>
    <message>
        <location filename="../../app/long_context.py" line="241"/>
        <source>Drop oldest turns</source>
        <translation>오래된 차례 빼기</translation>
    </message>
    <message>
        <location filename="../../app/long_context.py" line="242"/>
        <source>Summarise them</source>
        <translation>요약하기</translation>
    </message>
    <message>
        <location filename="../../app/long_context.py" line="243"/>
        <source>New chat</source>
        <translation>새 대화</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="16"/>
        <source>Reasoning was cut: it went round in circles. The answer is from what it had worked out. Continue reasoning lets it think on.</source>
        <translation>추론이 같은 내용을 맴돌아 중단되었습니다. 답변은 그때까지 추론한 내용을 바탕으로 합니다. 추론 계속하기를 누르면 더 생각합니다.</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="21"/>
        <source>Reasoning was cut: it used its budget for this effort (Settings). The answer is from what it had worked out. Continue reasoning lets it think on.</source>
        <translation>이 추론 강도의 추론 한도(설정)를 다 써서 추론이 중단되었습니다. 답변은 그때까지 추론한 내용을 바탕으로 합니다. 추론 계속하기를 누르면 더 생각합니다.</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="33"/>
        <source>This chat outgrew the context: the model is summarising its oldest turns first.</source>
        <translation>대화가 컨텍스트보다 길어졌습니다. 모델이 먼저 가장 오래된 차례를 요약합니다.</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="42"/>
        <location filename="../../app/long_context_words.py" line="72"/>
        <source>%1 tokens</source>
        <translation>%1 토큰</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="47"/>
        <source>does not fit this GPU</source>
        <translation>이 GPU에 맞지 않음</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="52"/>
        <location filename="../../app/long_context_words.py" line="64"/>
        <source>%1 of memory for the context</source>
        <translation>컨텍스트에 메모리 %1</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="62"/>
        <source>Does not fit this GPU, even with every expert in RAM.</source>
        <translation>전문가를 모두 RAM에 두어도 이 GPU에 맞지 않습니다.</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="76"/>
        <source>does not fit</source>
        <translation>맞지 않음</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="80"/>
        <source>experts in RAM</source>
        <translation>전문가 일부 RAM</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="86"/>
        <source>Automatic (now %1 tokens)</source>
        <translation>자동 (지금 %1토큰)</translation>
    </message>
    <message>
        <location filename="../../app/long_context_words.py" line="87"/>
        <source>Automatic</source>
        <translation>자동</translation>
    </message>
</context>
<context>
    <name>LongContextFields</name>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="34"/>
        <source>Longer context remembers more of the conversation and uses more GPU memory; past what the GPU holds, experts move to RAM and answers slow down.</source>
        <translation>컨텍스트가 길수록 대화를 더 많이 기억하지만 GPU 메모리를 더 씁니다. GPU에 담을 수 있는 양을 넘으면 전문가(expert)가 RAM으로 옮겨져 답변이 느려집니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="43"/>
        <source>Low</source>
        <translation>낮음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="43"/>
        <source>Medium</source>
        <translation>보통</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="43"/>
        <source>High</source>
        <translation>높음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="48"/>
        <source>No limit</source>
        <translation>제한 없음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="49"/>
        <source> tokens</source>
        <translation> 토큰</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="51"/>
        <source>Reasoning budget at %1 effort</source>
        <translation>추론 강도 %1의 추론 한도</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="58"/>
        <source>Tokens of reasoning before the model must answer; a quarter of Max tokens is always kept for the answer. A reasoning loop is cut either way; Continue reasoning on the answer lets it think on.</source>
        <translation>모델이 답해야 하기 전까지 추론할 수 있는 토큰 수입니다. 최대 토큰의 4분의 1은 언제나 답변 몫으로 남깁니다. 같은 내용을 맴도는 추론은 어느 경우에나 중단되며, 답변의 추론 계속하기로 더 생각하게 할 수 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="63"/>
        <source>Reasoning &amp;budget:</source>
        <translation>추론 한도(&amp;B):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="66"/>
        <source>Ask, once per chat</source>
        <translation>대화마다 한 번 묻기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="67"/>
        <source>Drop the oldest turns</source>
        <translation>가장 오래된 차례 빼기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="68"/>
        <source>Summarise the oldest turns</source>
        <translation>가장 오래된 차례 요약하기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="69"/>
        <source>Stop</source>
        <translation>중지</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="73"/>
        <source>What a chat does when it outgrows the context, until you choose for that chat.</source>
        <translation>대화가 컨텍스트보다 길어졌을 때 할 일입니다. 대화별로 직접 고르기 전까지 적용됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/long_context_settings.py" line="75"/>
        <source>When a chat is &amp;full:</source>
        <translation>대화가 가득 차면(&amp;F):</translation>
    </message>
</context>
<context>
    <name>Main</name>
    <message>
        <location filename="../../app/__main__.py" line="85"/>
        <source>Gossamer is already running with this profile, but it does not answer. Close it (or end it in the task manager), then start Gossamer again.</source>
        <translation>이 프로필로 Gossamer가 이미 실행 중이지만 응답하지 않습니다. 그 창을 닫거나 작업 관리자에서 끝낸 뒤 Gossamer를 다시 시작하세요.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../app/main_window.py" line="180"/>
        <location filename="../../app/main_window.py" line="353"/>
        <source>New chat</source>
        <translation>새 대화</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="181"/>
        <source>Search chats</source>
        <translation>대화 검색</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="182"/>
        <source>Settings…</source>
        <translation>설정…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="183"/>
        <source>Models…</source>
        <translation>모델…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="185"/>
        <source>Regenerate</source>
        <translation>다시 생성</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="187"/>
        <source>Rename…</source>
        <translation>이름 바꾸기…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="189"/>
        <source>Export as Markdown…</source>
        <translation>Markdown으로 내보내기…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="192"/>
        <source>Export as JSON…</source>
        <translation>JSON으로 내보내기…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="194"/>
        <source>Delete</source>
        <translation>삭제</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="195"/>
        <source>Quit</source>
        <translation>종료</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="301"/>
        <source>Looking for models…</source>
        <translation>모델을 찾는 중…</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="312"/>
        <source>No model loaded</source>
        <translation>불러온 모델 없음</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="330"/>
        <source>An answer is still being written. Wait for it, or press Stop (Esc).</source>
        <translation>아직 답변을 작성하고 있습니다. 끝날 때까지 기다리거나 중지(Esc)를 누르세요.</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="409"/>
        <source>No model is loaded yet. Download one or choose a folder, then send.</source>
        <translation>아직 불러온 모델이 없습니다. 모델을 다운로드하거나 폴더를 선택한 뒤 보내세요.</translation>
    </message>
    <message>
        <location filename="../../app/main_window.py" line="411"/>
        <source>Open Models</source>
        <translation>모델 관리 열기</translation>
    </message>
</context>
<context>
    <name>MessageWidget</name>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="57"/>
        <location filename="../../app/widgets/message_widget.py" line="108"/>
        <location filename="../../app/widgets/message_widget.py" line="148"/>
        <source>Copy</source>
        <translation>복사</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="71"/>
        <source>Your message</source>
        <translation>내 메시지</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="77"/>
        <source>Edit your message</source>
        <translation>메시지 편집</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="82"/>
        <source>Enter to send, Shift+Enter for a new line</source>
        <translation>Enter로 전송, Shift+Enter로 줄바꿈</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="87"/>
        <source>Cancel</source>
        <translation>취소</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="88"/>
        <source>Send</source>
        <translation>보내기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="108"/>
        <source>Copy message</source>
        <translation>메시지 복사</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="110"/>
        <source>Edit</source>
        <translation>편집</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="110"/>
        <source>Edit and resend</source>
        <translation>편집해서 다시 보내기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="121"/>
        <source>Reading the conversation…</source>
        <translation>대화를 읽는 중…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="126"/>
        <source>Answer</source>
        <translation>답변</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="148"/>
        <source>Copy answer</source>
        <translation>답변 복사</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="150"/>
        <source>Continue</source>
        <translation>이어서 쓰기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="151"/>
        <source>Continue this answer where it stopped</source>
        <translation>멈춘 곳부터 답변 이어서 쓰기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="155"/>
        <source>Regenerate</source>
        <translation>다시 생성</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="155"/>
        <source>Answer again</source>
        <translation>다시 답변하기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="158"/>
        <source>Continue reasoning</source>
        <translation>추론 계속하기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="159"/>
        <source>Let the model reason on from where it was cut, then answer again</source>
        <translation>중단된 곳부터 모델이 더 추론한 뒤 다시 답합니다</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="237"/>
        <source>The answer failed.</source>
        <translation>답변에 실패했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="241"/>
        <source>Interrupted: Gossamer closed before this answer finished. Continue to finish it, or Regenerate to answer again.</source>
        <translation>중단됨: 답변이 끝나기 전에 Gossamer가 종료되었습니다. 이어서 쓰기를 눌러 마저 받거나, 다시 생성을 눌러 새로 답변받으세요.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="251"/>
        <source>Cut off at the token limit. Continue to let it write more, or raise “Max tokens” in Settings for longer answers.</source>
        <translation>토큰 한도에서 잘렸습니다. 이어서 쓰기를 눌러 더 받거나, 더 긴 답변을 원하면 설정에서 “최대 토큰”을 늘리세요.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="247"/>
        <source>Stopped.</source>
        <translation>중지했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="260"/>
        <source>Asked to use a tool: %1</source>
        <translation>도구 사용 요청: %1</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="275"/>
        <source>%1 tok/s</source>
        <translation>%1 토큰/초</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/widgets/message_widget.py" line="277"/>
        <source>%n tokens</source>
        <translation>
            <numerusform>%Ln토큰</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="279"/>
        <source>%1 s to first token</source>
        <translation>첫 토큰까지 %1초</translation>
    </message>
    <message>
        <location filename="../../app/widgets/message_widget.py" line="287"/>
        <source>Copied</source>
        <translation>복사됨</translation>
    </message>
</context>
<context>
    <name>ModelChecks</name>
    <message>
        <location filename="../../app/model_checks.py" line="37"/>
        <source>Checking %1&apos;s changed files… %2%</source>
        <translation>%1의 바뀐 파일 확인 중… %2%</translation>
    </message>
    <message>
        <location filename="../../app/model_checks.py" line="62"/>
        <source>%1 is not in the models folder, so nothing checked that its files are the published ones. Import it in Models to verify it.</source>
        <translation>%1은(는) 모델 폴더에 있지 않아 파일이 배포된 것과 같은지 확인되지 않았습니다. 검증하려면 모델 관리에서 가져오세요.</translation>
    </message>
    <message>
        <location filename="../../app/model_checks.py" line="69"/>
        <source>Verify the model</source>
        <translation>모델 검증</translation>
    </message>
</context>
<context>
    <name>ModelChoices</name>
    <message>
        <location filename="../../app/model_choices.py" line="79"/>
        <source>Not in the models folder: %1</source>
        <translation>모델 폴더 밖에 있음: %1</translation>
    </message>
</context>
<context>
    <name>ModelFacts</name>
    <message>
        <location filename="../../app/model_facts.py" line="27"/>
        <source>%1 · %2 of weights</source>
        <translation>%1 · 가중치 %2</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="35"/>
        <source>%1 of %2 layers in RAM</source>
        <translation>%2개 층 중 %1개는 RAM에</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="40"/>
        <source>slower PyTorch path</source>
        <translation>느린 PyTorch 경로</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="42"/>
        <source>slower portable kernels</source>
        <translation>느린 범용 커널</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="71"/>
        <source>Runs on: %1</source>
        <translation>실행 환경: %1</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="76"/>
        <source>Weights on the GPU: %1 (MXFP4 experts: %2)</source>
        <translation>GPU의 가중치: %1 (MXFP4 전문가: %2)</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="78"/>
        <source>Weights: %1 (MXFP4 experts: %2)</source>
        <translation>가중치: %1 (MXFP4 전문가: %2)</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="85"/>
        <source>Weights in RAM: %1</source>
        <translation>RAM의 가중치: %1</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="89"/>
        <source>%1 layers, %2 experts (top %3), context %4 tokens</source>
        <translation>%1개 층, 전문가 %2개(상위 %3개), 컨텍스트 %4토큰</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="99"/>
        <source>Dequantized-expert cache: %1</source>
        <translation>역양자화한 전문가 캐시: %1</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="104"/>
        <source>8-bit attention and unembedding</source>
        <translation>8비트 어텐션과 언임베딩</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="112"/>
        <source>Without the Triton GPU kernels, so answers are slower: %1</source>
        <translation>Triton GPU 커널 없이 실행되므로 답변이 느립니다: %1</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="125"/>
        <source>CPU kernels: portable code (slower): %1</source>
        <translation>CPU 커널: 범용 코드(더 느림): %1</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="127"/>
        <source>CPU kernels: PyTorch path (slower): %1</source>
        <translation>CPU 커널: PyTorch 경로(더 느림): %1</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="129"/>
        <source>CPU kernels: PyTorch path (slower)</source>
        <translation>CPU 커널: PyTorch 경로(더 느림)</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="130"/>
        <source>CPU kernels: %1</source>
        <translation>CPU 커널: %1</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="136"/>
        <source>GPU memory: %1 of a %2 budget</source>
        <translation>GPU 메모리: 한도 %2 중 %1</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="144"/>
        <source>Experts of %1 of %2 layers in RAM, %3 cache slots for them on the GPU</source>
        <translation>%2개 층 중 %1개 층의 전문가는 RAM에, 이들을 위한 캐시 슬롯 %3개는 GPU에</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="153"/>
        <source>All experts on the GPU, the embedding in RAM</source>
        <translation>전문가는 모두 GPU에, 임베딩은 RAM에</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="155"/>
        <source>Everything on the GPU</source>
        <translation>모두 GPU에</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="163"/>
        <source>21B parameters, 3.6B active; runs on a 16 GB GPU, or with experts in RAM on less</source>
        <translation>매개변수 210억 개, 활성 36억 개. 16 GB GPU에서 실행되며, 더 작은 GPU에서는 전문가를 RAM에 두고 실행됩니다</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="166"/>
        <source>117B parameters, 5.1B active; needs an 80 GB GPU, or experts in a lot of RAM</source>
        <translation>매개변수 1,170억 개, 활성 51억 개. 80 GB GPU가 필요하며, 아니면 전문가를 큰 RAM에 두어야 합니다</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="191"/>
        <source>Fits on the GPU (%1).</source>
        <translation>GPU(%1)에 모두 들어갑니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="194"/>
        <source>Runs on the GPU (%1) with some experts in RAM.</source>
        <translation>일부 전문가를 RAM에 두고 GPU(%1)에서 실행됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="199"/>
        <source>Runs on the CPU only: no GPU was found.</source>
        <translation>GPU를 찾지 못해 CPU에서만 실행됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="202"/>
        <source>Runs on the CPU only: it is too big for the GPU (%1).</source>
        <translation>GPU(%1)에 비해 모델이 커서 CPU에서만 실행됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="206"/>
        <source>Expect a few tokens a second.</source>
        <translation>속도는 초당 몇 토큰 정도입니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="209"/>
        <source>Needs about %1 of RAM; this computer has %2.</source>
        <translation>RAM이 약 %1 필요하지만 이 컴퓨터에는 %2뿐입니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="215"/>
        <source>Does not fit: with this GPU (%1) about %2 of experts stay in RAM, and this computer can spare %3 of RAM for them.</source>
        <translation>맞지 않습니다: 이 GPU(%1)로는 전문가 약 %2를 RAM에 두어야 하는데, 이 컴퓨터가 그것에 내줄 수 있는 RAM은 %3입니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="226"/>
        <source>Needs %1 of disk space; %2 is free.</source>
        <translation>디스크 공간이 %1 필요하지만 남은 공간은 %2입니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="243"/>
        <source>Runs on the GPU with the experts of %1 of %2 layers in RAM: %3 of GPU memory at %4 tokens of context.</source>
        <translation>GPU에서 실행되며 %2개 층 중 %1개 층의 전문가는 RAM에 둡니다. 컨텍스트 %4토큰 기준으로 GPU 메모리를 %3 씁니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="254"/>
        <source>Fits on the GPU, the embedding in RAM: %1 of GPU memory at %2 tokens of context.</source>
        <translation>GPU에 들어가고 임베딩은 RAM에 둡니다. 컨텍스트 %2토큰 기준으로 GPU 메모리를 %1 씁니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="258"/>
        <source>Fits on the GPU: %1 of GPU memory at %2 tokens of context.</source>
        <translation>GPU에 모두 들어갑니다. 컨텍스트 %2토큰 기준으로 GPU 메모리를 %1 씁니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="265"/>
        <source>GPU</source>
        <translation>GPU</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="267"/>
        <source>GPU (simulated)</source>
        <translation>GPU (모의)</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="268"/>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="49"/>
        <source>Server %1 · the conversation is sent there</source>
        <translation>서버 %1 · 대화가 그곳으로 전송됩니다</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="55"/>
        <source>Runs on the server %1 (%2)</source>
        <translation>서버 %1에서 실행 (%2)</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="56"/>
        <source>Model: %1</source>
        <translation>모델: %1</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="60"/>
        <source>Context: %1 tokens</source>
        <translation>컨텍스트: %1토큰</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="62"/>
        <source>Each message is sent there with the conversation before it.</source>
        <translation>메시지마다 그 앞의 대화와 함께 그 서버로 전송됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/model_facts.py" line="63"/>
        <source>The chats stay saved on this computer only.</source>
        <translation>대화는 이 컴퓨터에만 저장됩니다.</translation>
    </message>
</context>
<context>
    <name>ModelHandlers</name>
    <message>
        <location filename="../../app/window_models.py" line="83"/>
        <source>%1 holds no gpt-oss model. Choose the folder with config.json and the .safetensors files, or download gpt-oss-20b.</source>
        <translation>%1에는 gpt-oss 모델이 없습니다. config.json과 .safetensors 파일이 있는 폴더를 선택하거나 gpt-oss-20b를 다운로드하세요.</translation>
    </message>
    <message>
        <location filename="../../app/window_models.py" line="103"/>
        <location filename="../../app/window_models.py" line="179"/>
        <source>Loading %1…</source>
        <translation>%1 불러오는 중…</translation>
    </message>
    <message>
        <location filename="../../app/window_models.py" line="107"/>
        <source>Your message is queued and answered once the model is ready.</source>
        <translation>메시지는 대기 중이며 모델이 준비되면 답변합니다.</translation>
    </message>
    <message>
        <location filename="../../app/window_models.py" line="110"/>
        <source>Answering…  (Esc to stop)</source>
        <translation>답변하는 중…  (Esc로 중지)</translation>
    </message>
    <message>
        <location filename="../../app/window_models.py" line="112"/>
        <source>Ready</source>
        <translation>준비됨</translation>
    </message>
    <message>
        <location filename="../../app/window_models.py" line="114"/>
        <source>No model loaded</source>
        <translation>불러온 모델 없음</translation>
    </message>
    <message>
        <location filename="../../app/window_models.py" line="159"/>
        <source>Choose a model…</source>
        <translation>모델 선택…</translation>
    </message>
    <message>
        <location filename="../../app/window_models.py" line="181"/>
        <source>No model</source>
        <translation>모델 없음</translation>
    </message>
    <message>
        <location filename="../../app/window_models.py" line="143"/>
        <source>gpt-oss runs on the server %1. What you write is sent there.</source>
        <translation>gpt-oss는 서버 %1에서 실행됩니다. 입력한 내용은 그 서버로 전송됩니다.</translation>
    </message>
</context>
<context>
    <name>ModelManager</name>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="41"/>
        <source>Models</source>
        <translation>모델</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="54"/>
        <source>Models folder:</source>
        <translation>모델 폴더:</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="59"/>
        <source>Open</source>
        <translation>열기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="60"/>
        <source>Show the models folder in the file manager</source>
        <translation>파일 관리자에서 모델 폴더 보기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="62"/>
        <source>Change…</source>
        <translation>변경…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="63"/>
        <source>Move the models to another folder or disk</source>
        <translation>모델을 다른 폴더나 디스크로 옮기기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="74"/>
        <source>On this computer</source>
        <translation>이 컴퓨터에 있는 모델</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="78"/>
        <source>Models on this computer</source>
        <translation>이 컴퓨터에 있는 모델</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="80"/>
        <source>No models yet. Download one below, or import a folder.</source>
        <translation>아직 모델이 없습니다. 아래에서 다운로드하거나 폴더를 가져오세요.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="85"/>
        <source>Load</source>
        <translation>불러오기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="87"/>
        <source>Chat with this model</source>
        <translation>이 모델과 대화하기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="88"/>
        <source>Verify</source>
        <translation>검증</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="89"/>
        <location filename="../../app/widgets/model_manager.py" line="241"/>
        <source>Check every file against its sha256</source>
        <translation>모든 파일을 sha256으로 확인합니다</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="90"/>
        <source>Delete</source>
        <translation>삭제</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="92"/>
        <source>Add to library</source>
        <translation>라이브러리에 추가</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="95"/>
        <source>Record this folder in the models folder with its checksums; its files stay where they are</source>
        <translation>이 폴더를 체크섬과 함께 모델 폴더에 등록합니다. 파일은 지금 위치에 그대로 둡니다</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="99"/>
        <source>Import folder…</source>
        <translation>폴더 가져오기…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="100"/>
        <source>Use a gpt-oss model folder you already have</source>
        <translation>이미 가지고 있는 gpt-oss 모델 폴더 사용하기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="120"/>
        <location filename="../../app/widgets/model_manager.py" line="127"/>
        <location filename="../../app/widgets/model_manager.py" line="266"/>
        <source>Download</source>
        <translation>다운로드</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="124"/>
        <source>Models to download</source>
        <translation>다운로드할 수 있는 모델</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="239"/>
        <source>Check every file&apos;s header and every tensor&apos;s shape (a folder has no recorded checksums)</source>
        <translation>모든 파일의 헤더와 모든 텐서의 모양을 확인합니다(폴더에는 기록된 체크섬이 없습니다)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="248"/>
        <source>This folder is not in the models folder: nothing to delete</source>
        <translation>이 폴더는 모델 폴더 밖에 있어 삭제할 것이 없습니다</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="252"/>
        <source>Unload it first: a loaded model cannot be deleted</source>
        <translation>불러온 모델은 삭제할 수 없습니다. 먼저 다른 모델을 불러오세요</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="254"/>
        <source>Delete this model&apos;s files</source>
        <translation>이 모델의 파일 삭제</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="262"/>
        <source>Resume download</source>
        <translation>이어받기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="264"/>
        <source>Repair download</source>
        <translation>다시 받아 복구</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="272"/>
        <source>Already downloaded and verified.</source>
        <translation>이미 다운로드하고 검증했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="274"/>
        <source>unknown size</source>
        <translation>크기 알 수 없음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="275"/>
        <source>%1 to download.</source>
        <translation>다운로드 크기 %1.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="307"/>
        <source>%1 is loaded. Load another model first, then delete this one.</source>
        <translation>%1 모델을 사용 중입니다. 다른 모델을 먼저 불러온 뒤 삭제하세요.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="315"/>
        <source>Forget %1? Its folder stays where it is.</source>
        <translation>%1 모델을 목록에서 지울까요? 폴더는 그대로 남습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="317"/>
        <source>Delete %1 and free %2 of disk space?</source>
        <translation>%1 모델을 삭제하고 디스크 공간 %2을(를) 확보할까요?</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="322"/>
        <source>Delete model</source>
        <translation>모델 삭제</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="328"/>
        <source>Choose a gpt-oss model folder</source>
        <translation>gpt-oss 모델 폴더 선택</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="344"/>
        <source>Choose a new, empty folder for the models</source>
        <translation>모델을 둘 새 빈 폴더 선택</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="352"/>
        <source>Downloading %1</source>
        <translation>%1 다운로드 중</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="353"/>
        <source>Verifying %1</source>
        <translation>%1 검증 중</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="354"/>
        <source>Checking %1</source>
        <translation>%1 확인 중</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="355"/>
        <source>Importing %1</source>
        <translation>%1 가져오는 중</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="356"/>
        <source>Deleting %1</source>
        <translation>%1 삭제 중</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="357"/>
        <source>Moving the models to %1</source>
        <translation>모델을 %1(으)로 옮기는 중</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="368"/>
        <source>%1 is downloaded and verified.</source>
        <translation>%1 다운로드와 검증을 마쳤습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="369"/>
        <source>%1 is verified: every file matches.</source>
        <translation>%1 검증 완료: 모든 파일이 일치합니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="371"/>
        <source>%1: every file and tensor is in place. Add it to the library to record its checksums.</source>
        <translation>%1: 모든 파일과 텐서가 제자리에 있습니다. 체크섬을 기록하려면 라이브러리에 추가하세요.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="373"/>
        <source>%1 was imported.</source>
        <translation>%1 모델을 가져왔습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="374"/>
        <source>%1 was deleted.</source>
        <translation>%1 모델을 삭제했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="375"/>
        <source>The models are now in %1.</source>
        <translation>이제 모델이 %1에 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="394"/>
        <source>Download of %1 paused. Resume continues where it stopped.</source>
        <translation>%1 다운로드를 멈췄습니다. 이어받기로 멈춘 곳부터 계속합니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_manager.py" line="396"/>
        <source>Stopped.</source>
        <translation>중지했습니다.</translation>
    </message>
</context>
<context>
    <name>ModelPicker</name>
    <message>
        <location filename="../../app/widgets/model_picker.py" line="28"/>
        <source>Choose the model to chat with</source>
        <translation>대화할 모델 선택</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_picker.py" line="29"/>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_picker.py" line="52"/>
        <source>Models folder</source>
        <translation>모델 폴더</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_picker.py" line="53"/>
        <source>Other folders</source>
        <translation>다른 폴더</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_picker.py" line="54"/>
        <source>Servers</source>
        <translation>서버</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_picker.py" line="66"/>
        <source>No models on this computer yet</source>
        <translation>이 컴퓨터에 아직 모델이 없습니다</translation>
    </message>
    <message>
        <location filename="../../app/widgets/model_picker.py" line="69"/>
        <source>Manage models…</source>
        <translation>모델 관리…</translation>
    </message>
</context>
<context>
    <name>ModelTables</name>
    <message>
        <location filename="../../app/model_tables.py" line="16"/>
        <source>Verified</source>
        <translation>검증됨</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="17"/>
        <source>Incomplete</source>
        <translation>미완료</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="18"/>
        <source>Corrupt</source>
        <translation>손상됨</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="19"/>
        <source>Not verified</source>
        <translation>검증 안 됨</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="25"/>
        <location filename="../../app/model_tables.py" line="158"/>
        <source>Unknown</source>
        <translation>알 수 없음</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="27"/>
        <source>Fits the GPU</source>
        <translation>GPU에 들어감</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="28"/>
        <source>GPU + RAM</source>
        <translation>GPU + RAM</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="29"/>
        <source>CPU only</source>
        <translation>CPU 전용</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="30"/>
        <source>Does not fit</source>
        <translation>들어가지 않음</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="68"/>
        <source>Name</source>
        <translation>이름</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="69"/>
        <source>Size</source>
        <translation>크기</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="70"/>
        <source>Status</source>
        <translation>상태</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="71"/>
        <location filename="../../app/model_tables.py" line="140"/>
        <source>Runs on</source>
        <translation>실행 환경</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="72"/>
        <source>Source</source>
        <translation>출처</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="85"/>
        <source>(loaded)</source>
        <translation>(사용 중)</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="96"/>
        <source>Downloaded</source>
        <translation>다운로드</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="97"/>
        <source>Imported</source>
        <translation>가져옴</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="98"/>
        <source>Folder</source>
        <translation>폴더</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="99"/>
        <source>Not in the models folder</source>
        <translation>모델 폴더 밖</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="138"/>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="139"/>
        <source>Download</source>
        <translation>다운로드</translation>
    </message>
    <message>
        <location filename="../../app/model_tables.py" line="141"/>
        <source>About</source>
        <translation>설명</translation>
    </message>
</context>
<context>
    <name>ModelsWorker</name>
    <message>
        <location filename="../../app/models_worker.py" line="166"/>
        <source>The model manager hit an unexpected problem.</source>
        <translation>모델 관리자에서 예상하지 못한 문제가 생겼습니다.</translation>
    </message>
</context>
<context>
    <name>NoticeBar</name>
    <message>
        <location filename="../../app/widgets/notice_bar.py" line="32"/>
        <source>Notice</source>
        <translation>알림</translation>
    </message>
    <message>
        <location filename="../../app/widgets/notice_bar.py" line="58"/>
        <source>Details</source>
        <translation>세부 정보</translation>
    </message>
    <message>
        <location filename="../../app/widgets/notice_bar.py" line="65"/>
        <source>Dismiss</source>
        <translation>닫기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/notice_bar.py" line="66"/>
        <source>Dismiss notice</source>
        <translation>알림 닫기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/notice_bar.py" line="74"/>
        <source>Error details</source>
        <translation>오류 세부 정보</translation>
    </message>
</context>
<context>
    <name>OverflowDialog</name>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="18"/>
        <source>This chat is full</source>
        <translation>대화가 가득 찼습니다</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="25"/>
        <source>With your new message this chat&apos;s prompt would be %1 tokens; %2 leave room for an answer. What should this chat do now and from now on?</source>
        <translation>새 메시지를 더하면 이 대화의 프롬프트는 %1토큰이 됩니다. 답변할 자리를 남기려면 %2토큰까지만 됩니다. 이 대화는 지금부터 어떻게 할까요?</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="51"/>
        <source>Either way every message stays in the chat and its export; only what the model reads changes. Settings sets what new chats do.</source>
        <translation>어느 쪽이든 모든 메시지는 대화와 내보내기에 남고, 모델이 읽는 내용만 바뀝니다. 새 대화에서 할 일은 설정에서 정합니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="64"/>
        <source>Summarise the oldest turns</source>
        <translation>가장 오래된 차례 요약하기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="65"/>
        <source>The model writes a summary of them first; it shows in the chat, and you can edit it.</source>
        <translation>모델이 먼저 그 메시지들을 요약합니다. 요약은 대화에 보이며 편집할 수 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="69"/>
        <source>Drop the oldest turns</source>
        <translation>가장 오래된 차례 빼기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="70"/>
        <source>The model no longer reads the oldest messages; instructions and recent turns stay.</source>
        <translation>모델이 가장 오래된 메시지를 더는 읽지 않습니다. 지시문과 최근 차례는 남습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="72"/>
        <source>Stop</source>
        <translation>중지</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="72"/>
        <source>Send nothing; start a new chat to go on.</source>
        <translation>보내지 않습니다. 계속하려면 새 대화를 시작하세요.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="29"/>
        <source>To answer again, the model reads a prompt of %1 tokens; %2 leave room for an answer. What should this chat do now and from now on?</source>
        <translation>다시 답변하려면 모델이 %1토큰의 프롬프트를 읽어야 합니다. 답변할 자리를 남기려면 %2토큰까지만 됩니다. 이 대화는 지금부터 어떻게 할까요?</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="33"/>
        <source>To go on with this answer, the model reads a prompt of %1 tokens; %2 leave room for the rest of it. What should this chat do now and from now on?</source>
        <translation>이 답변을 이어 쓰려면 모델이 %1토큰의 프롬프트를 읽어야 합니다. 나머지를 쓸 자리를 남기려면 %2토큰까지만 됩니다. 이 대화는 지금부터 어떻게 할까요?</translation>
    </message>
    <message>
        <location filename="../../app/widgets/overflow_dialog.py" line="37"/>
        <source>With your edited message this chat&apos;s prompt would be %1 tokens; %2 leave room for an answer. What should this chat do now and from now on?</source>
        <translation>편집한 메시지로는 이 대화의 프롬프트가 %1토큰이 됩니다. 답변할 자리를 남기려면 %2토큰까지만 됩니다. 이 대화는 지금부터 어떻게 할까요?</translation>
    </message>
</context>
<context>
    <name>QFileDialog</name>
    <message>
        <location filename="../../app/qt_strings.py" line="13"/>
        <source>&amp;Look in:</source>
        <translation>다음에서 찾기(&amp;L):</translation>
    </message>
    <message>
        <location filename="../../app/qt_strings.py" line="14"/>
        <source>Files of &amp;type:</source>
        <translation>파일 형식(&amp;T):</translation>
    </message>
</context>
<context>
    <name>RemoteErrors</name>
    <message>
        <location filename="../../app/remote_errors.py" line="18"/>
        <source>The model server could not be reached.</source>
        <translation>모델 서버에 연결할 수 없습니다.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="26"/>
        <source>The server rejected the API key.</source>
        <translation>서버가 API 키를 거부했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="32"/>
        <source>The server no longer has this model.</source>
        <translation>서버에 더 이상 이 모델이 없습니다.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="33"/>
        <source>Choose another of its models in Models, or load the model on the server.</source>
        <translation>모델에서 이 서버의 다른 모델을 고르거나, 서버에 이 모델을 불러오세요.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="38"/>
        <source>The server took too long to answer.</source>
        <translation>서버의 응답이 너무 늦습니다.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="39"/>
        <source>It may be busy or still loading the model. Try again in a moment.</source>
        <translation>서버가 바쁘거나 아직 모델을 불러오는 중일 수 있습니다. 잠시 후 다시 시도하세요.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="42"/>
        <source>The answer broke off: the connection to the server was lost.</source>
        <translation>답변이 중간에 끊겼습니다: 서버와의 연결이 끊어졌습니다.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="43"/>
        <source>What arrived is kept. Continue goes on with it; Regenerate writes the answer again.</source>
        <translation>받은 내용은 보존됩니다. 계속하기로 이어 쓰거나, 다시 생성으로 답변을 새로 쓸 수 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="49"/>
        <source>The model server answered with an error.</source>
        <translation>모델 서버가 오류를 반환했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="50"/>
        <source>Try again; if it keeps failing, look at the server&apos;s log.</source>
        <translation>다시 시도하세요. 계속 실패하면 서버의 로그를 확인하세요.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="19"/>
        <source>Check that the server is running and that its address is right (Models, Edit server…), and that this computer can reach it, then try again.</source>
        <translation>서버가 실행 중인지, 주소가 맞는지(모델, 서버 편집…), 이 컴퓨터에서 서버에 닿을 수 있는지 확인한 뒤 다시 시도하세요.</translation>
    </message>
    <message>
        <location filename="../../app/remote_errors.py" line="27"/>
        <source>Give the right key in Models: select the server, Edit server…, API key.</source>
        <translation>모델에서 올바른 키를 입력하세요: 서버를 선택하고 서버 편집…에서 API 키를 바꿉니다.</translation>
    </message>
</context>
<context>
    <name>RemoteModels</name>
    <message>
        <location filename="../../app/remote_models.py" line="38"/>
        <source>remote</source>
        <translation>원격</translation>
    </message>
    <message>
        <location filename="../../app/remote_models.py" line="51"/>
        <source>%1 on %2</source>
        <translation>%2의 %1</translation>
    </message>
    <message>
        <location filename="../../app/remote_models.py" line="119"/>
        <location filename="../../app/remote_models.py" line="137"/>
        <source>The server did not answer.</source>
        <translation>서버가 응답하지 않았습니다.</translation>
    </message>
</context>
<context>
    <name>RemoteSection</name>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="48"/>
        <source>On servers</source>
        <translation>서버에 있는 모델</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="52"/>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="52"/>
        <source>Server</source>
        <translation>서버</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="55"/>
        <source>Models on servers</source>
        <translation>서버에 있는 모델</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="68"/>
        <source>No servers yet. Add one to chat with a model that runs on another computer (vLLM, SGLang, Ollama, LM Studio, llama.cpp).</source>
        <translation>아직 서버가 없습니다. 다른 컴퓨터에서 실행되는 모델과 대화하려면 서버를 추가하세요(vLLM, SGLang, Ollama, LM Studio, llama.cpp).</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="78"/>
        <source>Use</source>
        <translation>사용</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="80"/>
        <source>Chat with this model on its server</source>
        <translation>서버의 이 모델과 대화</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="81"/>
        <source>Refresh</source>
        <translation>새로 고침</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="82"/>
        <source>Ask the servers for their models again</source>
        <translation>서버에 모델 목록을 다시 요청</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="85"/>
        <source>Remove server</source>
        <translation>서버 제거</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="86"/>
        <source>Forget this server and its key</source>
        <translation>이 서버와 키를 잊기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="87"/>
        <source>Add a server…</source>
        <translation>서버 추가…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="89"/>
        <source>Use models served by vLLM, SGLang, Ollama, LM Studio or llama.cpp</source>
        <translation>vLLM, SGLang, Ollama, LM Studio 또는 llama.cpp가 제공하는 모델 사용</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="115"/>
        <source>(no models)</source>
        <translation>(모델 없음)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="117"/>
        <source>%1 (in use)</source>
        <translation>%1 (사용 중)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="185"/>
        <source>%1 is saved: choose one of its models and Use it.</source>
        <translation>%1을(를) 저장했습니다: 모델을 하나 골라 사용을 누르세요.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="212"/>
        <source>Could not list the models of %1.</source>
        <translation>%1의 모델 목록을 가져올 수 없습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="83"/>
        <source>Edit server…</source>
        <translation>서버 편집…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="84"/>
        <source>Change this server&apos;s name, address or API key</source>
        <translation>이 서버의 이름, 주소 또는 API 키 변경</translation>
    </message>
    <message>
        <location filename="../../app/widgets/remote_section.py" line="176"/>
        <source>%1 is saved.</source>
        <translation>%1을(를) 저장했습니다.</translation>
    </message>
</context>
<context>
    <name>SaveFailures</name>
    <message>
        <location filename="../../app/save_failures.py" line="32"/>
        <source>Undo</source>
        <translation>실행 취소</translation>
    </message>
    <message>
        <location filename="../../app/save_failures.py" line="65"/>
        <source>Try again</source>
        <translation>다시 시도</translation>
    </message>
    <message>
        <location filename="../../app/save_failures.py" line="66"/>
        <source>Close anyway</source>
        <translation>그래도 닫기</translation>
    </message>
</context>
<context>
    <name>ServerDialog</name>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="34"/>
        <source>Add a server</source>
        <translation>서버 추가</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="47"/>
        <source>A computer that serves gpt-oss with an OpenAI-compatible API: vLLM, SGLang, Ollama, LM Studio, llama.cpp or another Gossamer.</source>
        <translation>OpenAI 호환 API로 gpt-oss를 제공하는 컴퓨터: vLLM, SGLang, Ollama, LM Studio, llama.cpp 또는 다른 Gossamer.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="63"/>
        <source>Server address</source>
        <translation>서버 주소</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="66"/>
        <source>optional</source>
        <translation>선택 사항</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="67"/>
        <source>API key</source>
        <translation>API 키</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="69"/>
        <source>Address:</source>
        <translation>주소:</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="70"/>
        <source>API key:</source>
        <translation>API 키:</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="73"/>
        <source>Test connection</source>
        <translation>연결 테스트</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="123"/>
        <source>Asking %1 for its models…</source>
        <translation>%1에 모델 목록을 요청하는 중…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="171"/>
        <source>The server could not be saved: %1</source>
        <translation>서버를 저장할 수 없습니다: %1</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="188"/>
        <source>The server answered but serves no models. Load a model on it, then test again.</source>
        <translation>서버가 응답했지만 제공하는 모델이 없습니다. 서버에 모델을 불러온 뒤 다시 테스트하세요.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="193"/>
        <source>Connected. Models: %1</source>
        <translation>연결되었습니다. 모델: %1</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="34"/>
        <source>Edit server</source>
        <translation>서버 편집</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="58"/>
        <source>optional: its address is shown</source>
        <translation>선택 사항: 비우면 주소가 표시됩니다</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="59"/>
        <source>Server name</source>
        <translation>서버 이름</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="68"/>
        <source>Name:</source>
        <translation>이름:</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="106"/>
        <source>Change what you need, then Save. A new address or key is tested first.</source>
        <translation>필요한 것을 바꾼 뒤 저장하세요. 새 주소나 키는 먼저 테스트합니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/server_dialog.py" line="155"/>
        <source>%1 is saved already with this address. Edit or remove that one instead.</source>
        <translation>%1이(가) 이미 이 주소로 저장되어 있습니다. 대신 그 서버를 편집하거나 제거하세요.</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="36"/>
        <source>Settings</source>
        <translation>설정</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="49"/>
        <source>Automatic (GPU when there is one)</source>
        <translation>자동 (GPU가 있으면 GPU)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="50"/>
        <source>GPU (CUDA)</source>
        <translation>GPU (CUDA)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="51"/>
        <source>CPU only</source>
        <translation>CPU만 사용</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="54"/>
        <source>&amp;Device:</source>
        <translation>장치(&amp;D):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="60"/>
        <source>Automatic</source>
        <translation>자동</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="62"/>
        <source>How much GPU memory Gossamer may use. Experts that do not fit stay in RAM.</source>
        <translation>Gossamer가 쓸 수 있는 GPU 메모리입니다. 들어가지 않는 전문가(expert)는 RAM에 둡니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="64"/>
        <source>&amp;VRAM budget:</source>
        <translation>VRAM 한도(&amp;V):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="70"/>
        <source>No CUDA GPU was found on this computer, so the model runs on the CPU and uses RAM.</source>
        <translation>이 컴퓨터에서 CUDA GPU를 찾지 못해 모델은 CPU에서 실행되고 RAM을 씁니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="74"/>
        <source>%1 tokens</source>
        <translation>%1 토큰</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="76"/>
        <source>Longer context remembers more of the conversation and uses more memory.</source>
        <translation>컨텍스트가 길수록 대화를 더 많이 기억하지만 메모리를 더 씁니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="78"/>
        <source>&amp;Context length:</source>
        <translation>컨텍스트 길이(&amp;C):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="79"/>
        <source>Use CUDA &amp;graphs (faster answers on NVIDIA GPUs)</source>
        <translation>CUDA 그래프 사용(&amp;G) (NVIDIA GPU에서 더 빠른 답변)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="81"/>
        <source>Turn off only if answers on the GPU go wrong; Gossamer checks the graphs itself.</source>
        <translation>GPU에서 답변이 잘못될 때만 끄세요. Gossamer가 그래프를 스스로 확인합니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="84"/>
        <source>Changes here reload the model.</source>
        <translation>여기를 바꾸면 모델을 다시 불러옵니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="87"/>
        <source>Model</source>
        <translation>모델</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="96"/>
        <source>0 always picks the likeliest word; gpt-oss is tuned for 1.0.</source>
        <translation>0이면 항상 가장 그럴듯한 단어를 고릅니다. gpt-oss는 1.0에 맞춰져 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="97"/>
        <source>&amp;Temperature:</source>
        <translation>온도(&amp;T):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="102"/>
        <source>Top-&amp;p:</source>
        <translation>Top-&amp;p:</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="118"/>
        <source>The longest answer, thinking included, in tokens.</source>
        <translation>생각을 포함한 답변의 최대 길이(토큰)입니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="119"/>
        <source>&amp;Max tokens:</source>
        <translation>최대 토큰(&amp;M):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="122"/>
        <source>Low</source>
        <translation>낮음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="123"/>
        <source>Medium</source>
        <translation>보통</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="124"/>
        <source>High</source>
        <translation>높음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="127"/>
        <source>Reasoning for &amp;new chats:</source>
        <translation>새 대화의 추론 강도(&amp;N):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="129"/>
        <source>For example: Answer briefly. Use metric units.</source>
        <translation>예: 짧게 답하세요. 미터법 단위를 쓰세요.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="131"/>
        <source>System instructions</source>
        <translation>시스템 지시문</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="132"/>
        <source>&amp;System instructions:</source>
        <translation>시스템 지시문(&amp;S):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="134"/>
        <source>Answers</source>
        <translation>답변</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="141"/>
        <location filename="../../app/widgets/settings_dialog.py" line="148"/>
        <source>Same as the system</source>
        <translation>시스템 설정 따르기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="142"/>
        <source>Light</source>
        <translation>밝게</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="143"/>
        <source>Dark</source>
        <translation>어둡게</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="146"/>
        <source>T&amp;heme:</source>
        <translation>테마(&amp;H):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="150"/>
        <source>&amp;Language:</source>
        <translation>언어(&amp;L):</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="151"/>
        <source>A new language shows after Gossamer restarts.</source>
        <translation>바꾼 언어는 Gossamer를 다시 시작하면 적용됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="154"/>
        <source>Appearance</source>
        <translation>모양</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="156"/>
        <source>Local API</source>
        <translation>로컬 API</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="106"/>
        <source>Off</source>
        <translation>끔</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="109"/>
        <source>Pick each word from only this many of the likeliest (40 is a common choice).
Off: temperature and top-p alone decide, as gpt-oss is tuned for.</source>
        <translation>가장 가능성 높은 단어 중 이 개수 안에서만 고릅니다(흔히 40).
끔: gpt-oss가 맞춰진 대로 온도와 top-p만으로 정합니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/settings_dialog.py" line="113"/>
        <source>Top-&amp;k:</source>
        <translation>Top-&amp;k:</translation>
    </message>
</context>
<context>
    <name>Sidebar</name>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="44"/>
        <location filename="../../app/widgets/sidebar.py" line="47"/>
        <source>New chat</source>
        <translation>새 대화</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="46"/>
        <source>Start a new conversation (Ctrl+N)</source>
        <translation>새 대화 시작 (Ctrl+N)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="54"/>
        <source>Search chats</source>
        <translation>대화 검색</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="55"/>
        <source>Search conversations</source>
        <translation>대화 검색</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="56"/>
        <source>Search titles and messages (Ctrl+F)</source>
        <translation>제목과 메시지 검색 (Ctrl+F)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="66"/>
        <source>Conversations</source>
        <translation>대화 목록</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="79"/>
        <source>No conversations match.</source>
        <translation>일치하는 대화가 없습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="84"/>
        <location filename="../../app/widgets/sidebar.py" line="176"/>
        <source>Delete</source>
        <translation>삭제</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="92"/>
        <source>Models</source>
        <translation>모델</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="94"/>
        <source>Download, verify and choose models</source>
        <translation>모델 다운로드, 검증, 선택</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="96"/>
        <source>Settings</source>
        <translation>설정</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="98"/>
        <source>Settings (Ctrl+,)</source>
        <translation>설정 (Ctrl+,)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="168"/>
        <source>Rename</source>
        <translation>이름 바꾸기</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="170"/>
        <source>Export as Markdown…</source>
        <translation>Markdown으로 내보내기…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/sidebar.py" line="173"/>
        <source>Export as JSON…</source>
        <translation>JSON으로 내보내기…</translation>
    </message>
</context>
<context>
    <name>StatusBar</name>
    <message>
        <location filename="../../app/widgets/status_bar.py" line="28"/>
        <source>Working</source>
        <translation>작업 중</translation>
    </message>
    <message>
        <location filename="../../app/widgets/status_bar.py" line="31"/>
        <source>Decoding speed of the last answer</source>
        <translation>마지막 답변의 생성 속도</translation>
    </message>
    <message>
        <location filename="../../app/widgets/status_bar.py" line="34"/>
        <source>Tokens of the context window in use</source>
        <translation>사용 중인 컨텍스트 토큰</translation>
    </message>
    <message>
        <location filename="../../app/widgets/status_bar.py" line="37"/>
        <location filename="../../app/widgets/status_bar.py" line="92"/>
        <source>Where the model&apos;s weights are</source>
        <translation>모델 가중치가 있는 곳</translation>
    </message>
    <message>
        <location filename="../../app/widgets/status_bar.py" line="43"/>
        <source>No model loaded</source>
        <translation>불러온 모델 없음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/status_bar.py" line="51"/>
        <source>%1 tok/s</source>
        <translation>%1 토큰/초</translation>
    </message>
    <message>
        <location filename="../../app/widgets/status_bar.py" line="82"/>
        <source>Context %1 / %2</source>
        <translation>컨텍스트 %1 / %2</translation>
    </message>
</context>
<context>
    <name>StoreErrors</name>
    <message>
        <location filename="../../app/store_errors.py" line="36"/>
        <source>Chats are kept in %1.</source>
        <translation>대화는 %1에 저장됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="43"/>
        <source>Gossamer could not save your message.</source>
        <translation>Gossamer가 메시지를 저장하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="44"/>
        <source>Gossamer could not save your edited message.</source>
        <translation>Gossamer가 수정한 메시지를 저장하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="45"/>
        <source>Gossamer could not start a new answer.</source>
        <translation>Gossamer가 새 답변을 시작하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="46"/>
        <source>Gossamer could not continue the answer.</source>
        <translation>Gossamer가 답변을 이어서 쓰지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="47"/>
        <source>Gossamer could not save the answer.</source>
        <translation>Gossamer가 답변을 저장하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="48"/>
        <source>Gossamer could not rename the chat.</source>
        <translation>Gossamer가 대화 이름을 바꾸지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="49"/>
        <source>Gossamer could not delete the chat.</source>
        <translation>Gossamer가 대화를 삭제하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="50"/>
        <source>Gossamer could not bring the chat back.</source>
        <translation>Gossamer가 대화를 되살리지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="51"/>
        <source>Gossamer could not save the reasoning effort for this chat.</source>
        <translation>Gossamer가 이 대화의 추론 강도를 저장하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="52"/>
        <source>Gossamer could not save what this chat does when it is full.</source>
        <translation>Gossamer가 이 대화가 가득 찼을 때 할 일을 저장하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="53"/>
        <source>Gossamer could not switch to that version of the message.</source>
        <translation>Gossamer가 메시지의 해당 버전으로 전환하지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="60"/>
        <source>The disk is full.</source>
        <translation>디스크가 가득 찼습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="61"/>
        <source>The chats file is read-only or cannot be written.</source>
        <translation>대화 파일이 읽기 전용이거나 쓸 수 없는 상태입니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="62"/>
        <source>Writing to the chats file failed.</source>
        <translation>대화 파일에 쓰지 못했습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="63"/>
        <source>The chat is no longer there: it was deleted, perhaps in another window.</source>
        <translation>대화가 더 이상 없습니다. 다른 창에서 삭제되었을 수 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="74"/>
        <source>Nothing more can be saved in it. Start a new chat to go on.</source>
        <translation>이 대화에는 더 저장할 수 없습니다. 계속하려면 새 대화를 시작하세요.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="77"/>
        <source>The answer stays on screen and is saved as soon as there is room.</source>
        <translation>답변은 화면에 그대로 있으며, 공간이 생기는 대로 저장됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="80"/>
        <source>The answer stays on screen and is saved as soon as the chats folder can be written again.</source>
        <translation>답변은 화면에 그대로 있으며, 대화 폴더에 다시 쓸 수 있게 되는 대로 저장됩니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="84"/>
        <source>The answer stays on screen, and Gossamer keeps trying to save it.</source>
        <translation>답변은 화면에 그대로 있으며, Gossamer가 계속 저장을 시도합니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="90"/>
        <source>Free some space, then send again.</source>
        <translation>디스크 공간을 확보한 뒤 다시 보내세요.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="91"/>
        <source>Check that the chats folder can be written, then send again.</source>
        <translation>대화 폴더에 쓸 수 있는지 확인한 뒤 다시 보내세요.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="94"/>
        <source>Send again. If it keeps failing, close Gossamer and check the chats folder.</source>
        <translation>다시 보내 보세요. 계속 실패하면 Gossamer를 닫고 대화 폴더를 확인하세요.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="100"/>
        <source>Free some space, then try again.</source>
        <translation>디스크 공간을 확보한 뒤 다시 시도하세요.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="101"/>
        <source>Check that the chats folder can be written, then try again.</source>
        <translation>대화 폴더에 쓸 수 있는지 확인한 뒤 다시 시도하세요.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="104"/>
        <source>Try again. If it keeps failing, close Gossamer and check the chats folder.</source>
        <translation>다시 시도해 보세요. 계속 실패하면 Gossamer를 닫고 대화 폴더를 확인하세요.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="112"/>
        <source>The answer is saved now.</source>
        <translation>이제 답변이 저장되었습니다.</translation>
    </message>
    <message>
        <location filename="../../app/store_errors.py" line="117"/>
        <source>If you close now, the part of the answer not yet saved is lost.</source>
        <translation>지금 닫으면 아직 저장되지 않은 답변 내용은 사라집니다.</translation>
    </message>
</context>
<context>
    <name>ThinkingSection</name>
    <message>
        <location filename="../../app/widgets/thinking_section.py" line="33"/>
        <source>Thinking</source>
        <translation>생각</translation>
    </message>
    <message>
        <location filename="../../app/widgets/thinking_section.py" line="34"/>
        <source>Show or hide the model&apos;s reasoning</source>
        <translation>모델의 추론 과정을 보이거나 숨깁니다</translation>
    </message>
    <message>
        <location filename="../../app/widgets/thinking_section.py" line="41"/>
        <source>Reasoning</source>
        <translation>추론 과정</translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/widgets/thinking_section.py" line="95"/>
        <source>%n tokens</source>
        <translation>
            <numerusform>%Ln토큰</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/widgets/thinking_section.py" line="97"/>
        <source>%n words</source>
        <translation>
            <numerusform>%Ln단어</numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../app/widgets/thinking_section.py" line="99"/>
        <source>Thinking…</source>
        <translation>생각하는 중…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/thinking_section.py" line="103"/>
        <source>Thought for %1</source>
        <translation>%1 동안 생각함</translation>
    </message>
    <message>
        <location filename="../../app/widgets/thinking_section.py" line="105"/>
        <source>Thoughts</source>
        <translation>생각</translation>
    </message>
    <message>
        <location filename="../../app/widgets/thinking_section.py" line="107"/>
        <source>Click to show or hide the model&apos;s reasoning</source>
        <translation>눌러서 모델의 추론 과정을 보이거나 숨기기</translation>
    </message>
</context>
<context>
    <name>VersionSwitcher</name>
    <message>
        <location filename="../../app/widgets/version_switcher.py" line="20"/>
        <source>Previous version</source>
        <translation>이전 버전</translation>
    </message>
    <message>
        <location filename="../../app/widgets/version_switcher.py" line="24"/>
        <source>Next version</source>
        <translation>다음 버전</translation>
    </message>
    <message>
        <location filename="../../app/widgets/version_switcher.py" line="46"/>
        <source>Version %1 of %2</source>
        <translation>%2개 버전 중 %1번째</translation>
    </message>
</context>
<context>
    <name>WelcomeScreen</name>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="34"/>
        <source>Welcome to Gossamer</source>
        <translation>Gossamer에 오신 것을 환영합니다</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="40"/>
        <source>Chat with OpenAI&apos;s gpt-oss on your own computer. It works offline, and nothing you write leaves this machine.</source>
        <translation>OpenAI의 gpt-oss와 내 컴퓨터에서 대화하세요. 인터넷 없이 작동하며, 입력한 내용은 이 컴퓨터 밖으로 나가지 않습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="68"/>
        <source>Download</source>
        <translation>다운로드</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="85"/>
        <source>Already have the model files?</source>
        <translation>모델 파일이 이미 있나요?</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="87"/>
        <source>Choose a folder…</source>
        <translation>폴더 선택…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="89"/>
        <source>A folder with config.json and the .safetensors files</source>
        <translation>config.json과 .safetensors 파일이 있는 폴더</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="91"/>
        <source>All models…</source>
        <translation>모든 모델…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="117"/>
        <source>Looking at this computer…</source>
        <translation>이 컴퓨터를 살펴보는 중…</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="123"/>
        <source>Models are saved in %1. You can move them in Models.</source>
        <translation>모델은 %1에 저장됩니다. 모델 관리에서 옮길 수 있습니다.</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="128"/>
        <source>unknown size</source>
        <translation>크기 알 수 없음</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="129"/>
        <source>Download gpt-oss-20b (%1)</source>
        <translation>gpt-oss-20b 다운로드 (%1)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="140"/>
        <source>Resume download (%1 of %2 done)</source>
        <translation>이어받기 (%2 중 %1 완료)</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="155"/>
        <source>Choose a gpt-oss model folder</source>
        <translation>gpt-oss 모델 폴더 선택</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="162"/>
        <source>Downloading %1</source>
        <translation>%1 다운로드 중</translation>
    </message>
    <message>
        <location filename="../../app/widgets/welcome_screen.py" line="185"/>
        <source>Download paused. Resume continues where it stopped.</source>
        <translation>다운로드를 멈췄습니다. 이어받기로 멈춘 곳부터 계속합니다.</translation>
    </message>
</context>
</TS>

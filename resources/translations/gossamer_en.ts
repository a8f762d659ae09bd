<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>ApiIndicator</name>
    <message numerus="yes">
        <location filename="../../app/widgets/api_indicator.py" line="22"/>
        <source>API · %n request(s)</source>
        <translation>
            <numerusform>API · %n request</numerusform>
            <numerusform>API · %n requests</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ContextNote</name>
    <message numerus="yes">
        <location filename="../../app/widgets/context_note.py" line="84"/>
        <source>Summary of the %n earlier messages above: the model reads it instead of them.</source>
        <translation>
            <numerusform>Summary of the earlier message above: the model reads it instead.</numerusform>
            <numerusform>Summary of the %n earlier messages above: the model reads it instead of them.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/widgets/context_note.py" line="93"/>
        <source>The %n earlier messages above are left out of what the model reads: the chat outgrew its context. They stay here and in exports.</source>
        <translation>
            <numerusform>The earlier message above is left out of what the model reads: the chat outgrew its context. It stays here and in exports.</numerusform>
            <numerusform>The %n earlier messages above are left out of what the model reads: the chat outgrew its context. They stay here and in exports.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Formatting</name>
    <message numerus="yes">
        <location filename="../../app/formatting.py" line="44"/>
        <source>%n s</source>
        <comment>seconds</comment>
        <translation>
            <numerusform>%n s</numerusform>
            <numerusform>%n s</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MessageWidget</name>
    <message numerus="yes">
        <location filename="../../app/widgets/message_widget.py" line="277"/>
        <source>%n tokens</source>
        <translation>
            <numerusform>%Ln token</numerusform>
            <numerusform>%Ln tokens</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>ThinkingSection</name>
    <message numerus="yes">
        <location filename="../../app/widgets/thinking_section.py" line="95"/>
        <source>%n tokens</source>
        <translation>
            <numerusform>%Ln token</numerusform>
            <numerusform>%Ln tokens</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../app/widgets/thinking_section.py" line="97"/>
        <source>%n words</source>
        <translation>
            <numerusform>%Ln word</numerusform>
            <numerusform>%Ln words</numerusform>
        </translation>
    </message>
</context>
</TS>

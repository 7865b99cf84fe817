# After installing or upgrading aws-signing-helper ($1 is 1 on install, 2 or more on upgrade):
# the group the units' users read keys through, the configuration directory, and systemd told
# about the new units (running instances restarted on upgrade).
if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers aws-signing-helper.conf
elif ! getent group aws-signing-helper >/dev/null; then
    groupadd -r aws-signing-helper
fi
install -d -m 0755 /etc/aws-signing-helper
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 2 ]; then
        systemctl try-restart 'aws-signing-helper-serve@*.service' aws-signing-helper-serve-config.service \
            'aws-signing-helper-update@*.service' >/dev/null 2>&1 || :
    fi
fi
exit 0

# Before erasing aws-signing-helper ($1 is 0 on erase, 1 on upgrade): stop its instances.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl stop 'aws-signing-helper-serve@*.socket' 'aws-signing-helper-serve@*.service' \
        aws-signing-helper-serve-config.service \
        'aws-signing-helper-update@*.service' >/dev/null 2>&1 || :
fi
exit 0

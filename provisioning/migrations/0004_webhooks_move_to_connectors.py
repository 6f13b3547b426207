# Webhook endpoints and their deliveries moved to connector targets and effects (connectors 0003).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0003_scim_applications_move_to_connectors'),
        # The data migration reads the endpoints and their deliveries first.
        ('connectors', '0003_webhooks_become_connector_targets'),
    ]

    operations = [
        migrations.DeleteModel(name='WebhookDelivery'),
        migrations.DeleteModel(name='WebhookEndpoint'),
    ]

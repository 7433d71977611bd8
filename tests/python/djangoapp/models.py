from django.db import models

import gencache
from gencache.django import invalidate_on


class Item(models.Model):
    user_id = models.IntegerField(db_index=True)
    name = models.CharField(max_length=100)

    class Meta:
        app_label = "djangoapp"
        ordering = ["-id"]


# Every saved or deleted item invalidates its user's dashboards, after the commit.
invalidate_on(Item, namespaces=lambda item: [gencache.ns("user", item.user_id)])
